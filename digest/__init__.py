"""The daily digest in one place: what it says (model), read from the marts (queries, with its SQL in sql/),
rendered for Slack, markdown and the terminal (render), its chart (chart), and delivered once per report day
(delivery). Posting itself is connectors.slack.publish."""
