"""The gateway's own web pages: the public survey page, the dashboard, their templates, styles and browser libraries."""
