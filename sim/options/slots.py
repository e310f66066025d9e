"""Option slots: the fixed list of option columns every unit shares.

Each unit (enterprise or candidate new project) has the same option slots;
a slot a unit does not have is NaN in the effects array. A slot has a *kind*
(keep, exit, merge, relocate, upgrade, admit), a *variant* (the rank of the
candidate acquirer or park, or the upgrade level name) and, when phasing is
on, the *year* the action takes effect. Which acquirer or park a merge or
relocate slot points at differs per unit and lives in ``OptionSet.target``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.schema import Scenario

KINDS = ("keep", "exit", "merge", "relocate", "upgrade", "admit")
#: kinds that are not actions taken in a year: the firm stays, a project is admitted
YEARLESS_KINDS = ("keep", "admit")


@dataclass(frozen=True)
class Slot:
    """One option column: kind, variant and year."""

    kind: str
    variant: str
    year: int

    @property
    def acts(self) -> bool:
        """True for an action taken in ``year`` (not keep or admit)."""
        return self.kind not in YEARLESS_KINDS

    @property
    def label(self) -> str:
        """Stable label, e.g. ``keep``, ``exit@2022``, ``merge#1@2023``, ``upgrade:deep@2021``."""
        base = self.kind
        if self.kind in ("merge", "relocate"):
            base += f"#{self.variant}"
        elif self.kind == "upgrade":
            base += f":{self.variant}"
        if not self.acts:
            return base
        return f"{base}@{self.year}"


def build_slots(scenario: Scenario) -> list[Slot]:
    """All option slots of a scenario, keep first, admit last.

    Without phasing every action takes effect in ``horizon.start_year``; with
    phasing each action is offered once per action year.
    """
    horizon = scenario.horizon
    years = horizon.years if scenario.phasing.enabled else [horizon.start_year]
    actions = scenario.actions
    slots = [Slot("keep", "", horizon.base_year)]
    for year in years:
        if actions.exit.enabled:
            slots.append(Slot("exit", "", year))
        if actions.merge.enabled:
            slots += [
                Slot("merge", str(k + 1), year) for k in range(actions.merge.candidates_per_firm)
            ]
        if actions.relocate.enabled:
            slots += [
                Slot("relocate", str(k + 1), year)
                for k in range(actions.relocate.candidates_per_firm)
            ]
        if actions.upgrade.enabled:
            slots += [Slot("upgrade", level.name, year) for level in actions.upgrade.levels]
    if scenario.new_projects.enabled:
        slots.append(Slot("admit", "", horizon.start_year))
    return slots
