"""python -m zenovay_cli"""
from zenovay_cli.main import run

if __name__ == "__main__":
    run()
