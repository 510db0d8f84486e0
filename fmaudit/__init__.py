"""fmaudit's command line: the same services as the dashboard, for scripts and CI (``fmaudit --help``)."""
