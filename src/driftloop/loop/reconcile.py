"""Keep the ``champion`` alias on what production really serves.

``promote`` moves ``champion`` when a reviewed merge lands: the intent. Argo Rollouts may then
abort the canary (an analysis failed, the pods never became ready), and production goes on
serving the previous version while MLflow still names the aborted one champion, and later
gates would compare against it. ``reconcile`` reads from Prometheus which versions the
model's production pods export now and whether its Rollout is Degraded (aborted), and moves
``champion`` back to the version production serves. Both versions are tagged, so the audit
trail keeps the promotion (promote's tags) and the abort (ADR 0007).

Telemetry is not proof: anyone who can push a series to Prometheus could claim that an
unreviewed version serves. Production pods serve only versions whose signed approval
verifies (ADR 0005), so ``champion`` moves only to a version whose approval verifies, and
the aborted version's approval is marked withdrawn (servers then refuse it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from driftloop.adapters.prometheus import ProductionSource
from driftloop.adapters.registry import ModelRegistry
from driftloop.attestation import Verification
from driftloop.policy.signals import Production

__all__ = ["Production", "ProductionSource", "Reconciliation", "plan", "reconcile"]


@dataclass(frozen=True)
class Reconciliation:
    model: str
    action: Literal["none", "restored"]
    champion: str | None  # after this run
    reasons: list[str]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # version -> tags written

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "action": self.action, "champion": self.champion,
                "reasons": self.reasons, "tags": self.tags}  # fmt: skip


def plan(model: str, champion: str | None, production: Production) -> Reconciliation:
    """What to do, from data only. The alias moves only when the Rollout is aborted and
    production serves exactly one other version: during a canary both versions serve, and
    without telemetry nothing is known."""
    served = sorted(production.served, key=lambda v: (len(v), v))
    if champion is None:
        return Reconciliation(model, "none", None, ["no champion to reconcile"])
    if champion in production.served:
        return Reconciliation(
            model, "none", champion, [f"production serves the champion v{champion}"]
        )
    if not production.aborted:
        why = (
            f"v{champion} is not served yet and the Rollout is not aborted (a rollout in progress)"
        )
        return Reconciliation(model, "none", champion, [why])
    if len(served) != 1:
        found = ", ".join(f"v{v}" for v in served) or "no version (no telemetry)"
        why = f"the Rollout is aborted but production serves {found}: nothing to restore yet"
        return Reconciliation(model, "none", champion, [why])
    restored = served[0]
    return Reconciliation(
        model, "restored", restored,
        [f"the v{champion} canary was aborted; production serves v{restored}: champion restored"],
    )  # fmt: skip


def reconcile(
    models: list[str], source: ProductionSource, registry: ModelRegistry, now: datetime,
    namespace: str = "driftloop", dry_run: bool = False,
    verify: Callable[[str, str], Verification] | None = None,
) -> list[Reconciliation]:  # fmt: skip
    """``verify(model, version)`` checks a version's signed approval (the production
    server's own check); champion moves only to a version it verifies."""
    production = source.production(models, now, namespace)
    results = []
    for model in models:
        champion = registry.alias_version(model, "champion")
        result = plan(model, champion, production.get(model, Production(frozenset(), False)))
        if result.action == "restored" and result.champion is not None:
            verified = verify(model, result.champion) if verify is not None else None
            if verified is None or not verified.verified:
                reasons = "; ".join(verified.reasons) if verified else "no keys to verify with"
                why = (
                    f"production reports v{result.champion}, whose signed approval does not "
                    f"verify ({reasons}): champion left on v{champion}"
                )
                results.append(Reconciliation(model, "none", champion, [why]))
                continue
        if result.action == "restored" and champion is not None and result.champion is not None:
            at = now.isoformat(timespec="seconds")
            tags = {
                champion: {
                    "rollout": "aborted",
                    "aborted_at": at,
                    "replaced_by": result.champion,
                    # unsigned, so it can only make servers refuse this version, never serve it
                    "approval_withdrawn": f"canary aborted (reconcile, {at})",
                },
                result.champion: {"champion_restored_at": at, "restored_from": champion},
            }
            if not dry_run:
                for version, version_tags in tags.items():
                    registry.set_version_tags(model, version, version_tags)
                registry.set_alias(model, "champion", result.champion)
            result = Reconciliation(model, result.action, result.champion, result.reasons, tags)
        results.append(result)
    return results
