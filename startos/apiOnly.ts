/**
 * Admin routes no action reaches, each with the reason. Everything else the
 * daemon's admin API offers has an action (startos/test/routes.test.ts reads
 * the daemon's route table with `keysat routes` and fails for a route that is
 * neither reached by an action nor listed here).
 */
export const apiOnly: Record<string, string> = {
  'GET /export/{file}':
    'An export is a file (CSV or JSON lines) and a StartOS action can only show text; handing the operator a file needs a one-time download link the daemon does not have yet (an interface route serving the export once). Until then: `keysat export` inside the container, or the API.',
  'GET /subscriptions/{id}':
    'One subscription by its id: "List subscriptions" shows every field of each (filtered by license, product or state), so an action for one would show nothing more.',
}
