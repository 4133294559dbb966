"""Writers: bundles, commands.txt, reports (text, markdown, HTML, PNG, JUnit), rendered by result type."""
