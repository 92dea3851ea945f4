from commhealth.cli import main

main()
