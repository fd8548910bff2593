import { VersionGraph } from '@start9labs/start-sdk'
import { v_0_1_0_0 } from './v0.1.0_0'

/**
 * The package's versions: one file each, named after its ExVer
 * (`v<upstream>_<revision>.ts`, exporting `v_<upstream with _>_<revision>`).
 * `current` is the one this build packs; earlier ones go in `other` with
 * their migrations.
 */
export const versionGraph = VersionGraph.of({ current: v_0_1_0_0, other: [] })
