import { VersionGraph } from '@start9labs/start-sdk'
import { v0_1_0_0 } from './v0_1_0_0'

/** The first version entry; later ones go in `other` with their migrations. */
export const versionGraph = VersionGraph.of({ current: v0_1_0_0, other: [] })
