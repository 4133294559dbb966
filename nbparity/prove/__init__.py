"""`compare --prove`: re-run the torch side with the C's values injected and say which root causes that
proves, ranked by how far fixing each alone moves the traced pixel toward the C's value (issue 24).

    table     traces/injection.toml: the option that sets a configuration key, and how to write its value
    float32   hints: inputs that differ exactly as float32 rounding of their argv values would
    plan      the candidate causes of a comparison and the argv (or injection file) of each re-run
    run       the re-runs (in parallel where the side allows) and their judgements
    verdicts  per cause: proven, not sufficient or cannot inject; the ranking by effect
"""
