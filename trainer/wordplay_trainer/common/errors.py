"""Problems a person can fix. Each names the config key or file at fault and what to do."""


class TrainerError(Exception):
    """A problem with the input (config, dataset, checkpoint, device): its message says what
    is wrong and how to fix it; `key` is the config key or file at fault, when there is one."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key


class ConfigError(TrainerError):
    """An invalid run configuration: every problem found, each naming its key."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  {key}: {msg}" for key, msg in problems]
        noun = "problem" if len(problems) == 1 else "problems"
        message = f"the run configuration has {len(problems)} {noun}:\n" + "\n".join(lines)
        super().__init__(message, key=problems[0][0] if problems else None)
