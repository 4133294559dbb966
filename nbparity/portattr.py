"""Quirk attribution for an external port: its quirk switches are the ones the user mapped
(`--py-quirk-flag ID=FLAGS`); only mapped quirks can be re-run, and the report says why when none can."""

from __future__ import annotations

from nbparity.attribution import Attribution, attribute, failing_ids, load_registry, triggered_quirks


def attribute_port(comparison, setup, port, rerun, warnings: list, log=None) -> Attribution:
    """attribute() over the triggered quirks that `port` has switches for. A note goes into `warnings`
    (shown in the report) when attribution is not possible or covers only part of the triggered quirks."""
    registry = load_registry()
    triggered = triggered_quirks(setup, registry)
    mapping = port.flags()
    mapped = [q for q in triggered if q in mapping]
    unmapped = [q for q in triggered if q not in mapping]
    if not mapped:
        base = failing_ids(comparison)
        if not triggered:
            why = "no registered C quirk is triggered by this case"
        elif not mapping:
            why = (f"the port's quirk switches are unknown (triggered: {', '.join(triggered)}); map them with "
                   f"--py-quirk-flag ID=FLAGS (matrix: py_quirk_flags)")
        else:
            why = (f"no --py-quirk-flag is given for the triggered quirk(s) {', '.join(triggered)} "
                   f"(mapped: {', '.join(sorted(mapping))})")
        warnings.append(f"attribution was not possible: {why}")
        return Attribution(mode="spec", triggered=[], base_failing=len(base), unexplained=len(base),
                           skipped=f"attribution not possible: {why}")
    if unmapped:
        warnings.append(f"attribution covers only {', '.join(mapped)}: no --py-quirk-flag for the triggered "
                        f"quirk(s) {', '.join(unmapped)}")
    att = attribute(comparison, setup, "spec", rerun, registry=[q for q in registry if q["id"] in mapped],
                    log=log)
    if unmapped:
        att.skipped = f"not re-run (no port switch): {', '.join(unmapped)}"
    return att
