from appointer.cli import main

main()
