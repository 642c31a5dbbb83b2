// The `kg` commands' usage, apart from cli.ts (which loads the whole app): `ovasabi --help` shows
// it without loading anything.
export const KG_HELP = `  ovasabi kg show [--type T] [--json]        the live service graph
  ovasabi kg impact <node> [--json]          what relies on a node (id or name, e.g. redis)
  ovasabi kg diagram [--focus X] [--depth N] Mermaid flowchart
  ovasabi kg validate [--json]               check declarations; exits 1 listing problems
  ovasabi kg history [--json]                snapshot versions and what changed
  ovasabi kg export [--out FILE]             snapshots as JSON (stdout by default)
  ovasabi kg import <file>                   restore snapshots from an export`
