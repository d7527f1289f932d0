"""The hosted OAuth authorization flow's rules (RFC 6749 §4.1, PKCE per RFC 7636), below
the pages that show it: which requests are valid, where the browser may be sent back, and
the encrypted flow token that carries a request from page to page."""
