"""Intake: what comes from outside (photo files, uploads and zip files, index CSVs) turned into
values the rest of ipr-vision can trust, or refused with a reason a person can act on."""
