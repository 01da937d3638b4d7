"""One engine for conditions on facts and the rule sets that match them (DESIGN §2.6)."""
