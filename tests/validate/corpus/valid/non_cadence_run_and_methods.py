import subprocess


class Runner:
    def run(self):
        return 1

    def parallel(self):
        return 2


async def job() -> None:
    subprocess_result = Runner().run()
    Runner().parallel()
    print(subprocess_result)
