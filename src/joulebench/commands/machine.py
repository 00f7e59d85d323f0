"""`doctor`: what this machine supports and what auto picks on it."""

from __future__ import annotations

import typer


def doctor(reprobe: bool = typer.Option(False, help="Measure the backend probe again instead of reading its cache."),
           engines: bool = typer.Option(False, "--engines", help="Also time every engine x precision on the packaged "
                                                                 "MiniLM here (about a minute) and name the fastest."),
           ) -> None:
    """What this machine supports, what auto picks on it (measured by the backend probe), which engines run
    here (timed with --engines), and which energy meter a run would use."""
    from joulebench.doctor import doctor_lines, engine_lines
    from joulebench.measure import pin_threads

    pin_threads(None)
    print("\n".join(doctor_lines(reprobe)))
    if engines:
        print("\n".join(engine_lines()))
