"""Know your data: near-duplicates, likely wrong labels and outliers, and safe fixes.

:func:`core.audit.audit.run_audit` audits a data folder from the feature store
(:mod:`core.features`) and returns an :class:`~core.audit.result.AuditResult`;
:class:`core.audit.fixes.FixJournal` applies the user's decisions to the folder
(moves and set-asides, never deletions) and undoes them, even after a restart.
"""
