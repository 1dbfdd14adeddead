"""Pull: the CRM's records come in (fetch), are mapped back to the local shape (reverse), matched to the
local records with ranked candidates (candidates), then linked or imported (decisions) and reported
(report). The links are the push's: a record linked here is updated, never duplicated, by the next push."""
