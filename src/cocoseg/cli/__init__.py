"""The `cocoseg` command line: one thin module per subcommand."""
