from leadpipe.cli import main

main()
