from wafpipe.cli.app import main

main()
