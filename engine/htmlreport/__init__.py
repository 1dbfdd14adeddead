"""The static HTML report of a plan (`crmsync plan --format html`): one self-contained file, nothing
fetched. What is the same for every record (counts, problems grouped by cause with the profile line,
the source, the requests) is HTML; the records are compact JSON in the page that a small inline script
lists, searches and filters (so 5,000 records open at once and weigh about 1 MB). The page is written
as a stream of chunks, record by record: it adds nothing per record to memory beyond the plan."""

from engine.htmlreport.page import html_report, write_html

__all__ = ["html_report", "write_html"]
