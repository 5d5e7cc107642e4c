from trialmirror.cli.main import main

main()
