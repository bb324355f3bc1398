"""The adapters people use: the permission-checked :mod:`.service` with its :mod:`.accounts`,
the command line (:mod:`.cli`) and the web app (:mod:`.web`)."""
