# Checks a wsgw webhook call (SPEC §7): X-Wsgw-Signature is "sha256=" + the hex
# HMAC-SHA256 of the raw request body, keyed with the app's webhook secret.
import hashlib, hmac

def from_wsgw(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)

if __name__ == "__main__":  # python3 verify_signature.py SECRET SIGNATURE < body
    import sys
    sys.exit(0 if from_wsgw(sys.argv[1], sys.stdin.buffer.read(), sys.argv[2]) else 1)
