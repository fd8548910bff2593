/**
 * Admin routes no action reaches, each with the reason. Everything else the
 * daemon's admin API offers has an action (startos/test/routes.test.ts reads
 * the daemon's route table with `keysat routes` and fails for a route that is
 * neither reached by an action nor listed here).
 */
export const apiOnly: Record<string, string> = {
  'GET /export/{file}':
    'The file itself: "Export data" (POST /export-links) hands the operator the same export through a one-time download link, since an action can only show text.',
  'GET /subscriptions/{id}':
    'One subscription by its id: "List subscriptions" shows every field of each (filtered by license, product or state), so an action for one would show nothing more.',
}
