"""NLU engine: curated risk patterns, trained spaCy classifiers, context rules, evaluation.

Entry points: `bot.nlu.engine.load_engine` / `bot.nlu.engine.train` and
`bot.nlu.commands.register` for the `signpost nlu ...` and `signpost assess` commands.
"""
