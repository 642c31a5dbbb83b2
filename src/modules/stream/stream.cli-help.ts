// The `streamsource-user` commands' usage, apart from stream.cli.ts: `ovasabi --help` shows it
// without loading the module.
export const STREAMSOURCE_USER_HELP = `  ovasabi streamsource-user create --email E [--role default|editor|admin] [--service]
                                             create a StreamSource account (password from STREAMSOURCE_PASSWORD)
  ovasabi streamsource-user list [--json]    list StreamSource accounts
  ovasabi streamsource-user set <id> [--role R] [--service|--no-service] [--password]
                                             --password: a new password from STREAMSOURCE_PASSWORD
                                             (every token issued before stops working)
  ovasabi streamsource-user revoke <id>      every token of the account stops working (a leaked one too)`
