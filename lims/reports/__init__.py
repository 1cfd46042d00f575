"""Records a site hands to an inspector or its sponsor (SPEC §5, §17): the certificate of analysis of a released lot,
and the reports: a study's infusion log, each lot's container accountability, near misses by month and check."""
