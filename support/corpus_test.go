package support

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
)

// The redaction corpus: every kind of secret in several syntaxes, all
// obviously fake (each holds "FAKE"), beside lines that must survive.
var corpus = map[string]string{
	"app.env": `# application settings
export DB_PASSWORD=FAKEpw-env-0001
SMTP_PASS='FAKEpw-env-0002'
API_KEY="FAKEapikey-env-0003"
APP_MODE=production
`,
	"config.yaml": `database:
  host: db.internal
  user: bob
  password: FAKEpw-yaml-0004
  api_key: "FAKEapikey-yaml-0005"
  client_secret: FAKE secret with spaces 0006
replicas: 3
`,
	"settings.json": `{
  "level": "info",
  "client_secret": "FAKEsecret-json-0007",
  "auth": {"access_token":"FAKEtok-json-0008", "refresh_token": "FAKEtok-json-0009"},
  "headers": {"Authorization": "Bearer FAKEbearer-json-0010"},
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEFAKEpkcs8json0011\n-----END PRIVATE KEY-----\n"
}
`,
	"app.ini": `[default]
aws_access_key_id = AKIAFAKEEXAMPLE00012
aws_secret_access_key = FAKEawssecretini0013wJalrXUtnFEMIK7MDENG
region = eu-west-1
`,
	"nginx.conf": `server {
    listen 443 ssl;
    server_name appliance.example.com;
    proxy_set_header Authorization "Basic RkFLRS1uZ2lueC0wMDE0";
    api_secret FAKEnginx-0015;
}
`,
	"access.log": `10.0.0.5 - - [01/Mar/2026:12:00:00 +0000] "GET /api/v1/status HTTP/1.1" 200 512
10.0.0.5 - - [01/Mar/2026:12:00:01 +0000] "GET /api/v1/status HTTP/1.1" 200 512 Authorization: Bearer FAKEbearer-0016
Authorization: Basic RkFLRWJhc2ljMDAxNw==
Cookie: session=FAKEcookie-0018; theme=dark
GET /callback?code=1&access_token=FAKEtok-query-0019&state=xyz HTTP/1.1
`,
	"app.log": `2026-03-01T12:00:00Z INFO password reset requested for user bob
2026-03-01T12:00:01Z INFO service started on port 8443
2026-03-01T12:00:02Z INFO connecting to postgres://app:FAKEurlpw-0020@db.internal:5432/app
2026-03-01T12:00:03Z WARN retry https://admin:FAKEurlpw-0021@10.0.0.1/api
2026-03-01T12:00:04Z INFO using key ASIAFAKEEXAMPLE00022 for upload
2026-03-01T12:00:05Z DEBUG session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJGQUtFIn0.FAKEjwtsig0023xyz
2026-03-01T12:00:06Z INFO admin logged in with FAKE-ADMIN-TOKEN-0024 from console
2026-03-01T12:00:07Z INFO checked license-key ACME-FAKE-0025-LIC
2026-03-01T12:00:08Z INFO level=info user=bob token=FAKEtok-kv-0026 msg=ok
2026-03-01T12:00:09Z INFO done
`,
	"keys.txt": `rsa:
-----BEGIN RSA PRIVATE KEY-----
MIIEFAKErsa0027aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
MIIEFAKErsa0028bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
-----END RSA PRIVATE KEY-----
ec:
-----BEGIN EC PRIVATE KEY-----
MHcFAKEec0029cccccccccccccccccccccccccccccccccccccccccccccccccccccc
-----END EC PRIVATE KEY-----
openssh:
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEFAKEssh0030dddddddddddddddddddddddddddddddddddddd
b3BlbnNzaC1rZXktdjEFAKEssh0031eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
-----END OPENSSH PRIVATE KEY-----
certificate:
-----BEGIN CERTIFICATE-----
MIIBcertificateNOTSECRETffffffffffffffffffffffffffffffffffffffffffff
-----END CERTIFICATE-----
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublicKeyNotSecret user@host
`,
}

var corpusKept = []string{
	"APP_MODE=production\n",
	"  host: db.internal\n  user: bob\n",
	"replicas: 3\n",
	`  "level": "info",` + "\n",
	"region = eu-west-1\n",
	"    listen 443 ssl;\n    server_name appliance.example.com;\n",
	`10.0.0.5 - - [01/Mar/2026:12:00:00 +0000] "GET /api/v1/status HTTP/1.1" 200 512` + "\n",
	"2026-03-01T12:00:00Z INFO password reset requested for user bob\n",
	"2026-03-01T12:00:01Z INFO service started on port 8443\n",
	"2026-03-01T12:00:09Z INFO done\n",
	"-----BEGIN RSA PRIVATE KEY-----\n",
	"MIIBcertificateNOTSECRETffffffffffffffffffffffffffffffffffffffffffff\n",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublicKeyNotSecret user@host\n",
	"postgres://app:", "https://admin:", "Authorization: Bearer ", `proxy_set_header Authorization "Basic `,
	"level=info user=bob token=", "aws_access_key_id = ",
}

func TestRedactionCorpus(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	dir := t.TempDir()
	for name, content := range corpus {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	// The secrets: every "FAKE" token, and the base64 of the basic ones.
	var secrets []string
	for _, content := range corpus {
		for _, f := range strings.FieldsFunc(content, func(r rune) bool { return strings.ContainsRune(" \t\n\"';,=&:", r) }) {
			if strings.Contains(f, "FAKE") {
				secrets = append(secrets, f)
			}
		}
	}
	secrets = append(secrets, "RkFLRS1uZ2lueC0wMDE0", "RkFLRWJhc2ljMDAxNw==", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJzdWIiOiJGQUtFIn0")
	require.Greater(t, len(secrets), 30)

	key := supportKey()
	for _, tokenize := range []bool{false, true} {
		var buf bytes.Buffer
		idx, err := Write(t.Context(), &buf, &Options{
			Sources: []Source{
				Glob("corpus", filepath.Join(dir, "*")),
				Command("cmd/env", 0, sh, "-c", "echo PASSWORD=FAKEcmd-0032; echo HOME=/root"),
				Bytes("agent/status.json", []byte(`{"state":"ok","adminToken":"FAKE-ADMIN-TOKEN-0024"}`)),
			},
			Recipients: []*sign.OpenPGPPublicKey{key.Public()},
			Redact: &RedactOptions{
				Literals: []string{"FAKE-ADMIN-TOKEN-0024"},
				Patterns: []string{`license-key\s+([A-Z0-9-]{10,})`},
				Tokenize: tokenize,
			},
		})
		require.NoError(t, err)
		var plain bytes.Buffer
		require.NoError(t, sign.Decrypt(t.Context(), &plain, &buf, key, nil))
		all := decompress(t, plain.Bytes())
		for _, s := range append(secrets, "FAKEcmd-0032") {
			assert.NotContains(t, string(all), s, "tokenize=%v", tokenize)
		}
		assert.NotContains(t, string(all), "FAKE", "tokenize=%v", tokenize)
		for _, k := range corpusKept {
			assert.Contains(t, string(all), k, "tokenize=%v", tokenize)
		}
		assert.Contains(t, string(all), "HOME=/root\n")
		assert.Equal(t, len(corpus), idx.Sources[0].Files)
		// Counts per file, never the secrets.
		for _, f := range idx.Files {
			if f.Path != "corpus/app.log" {
				continue
			}
			assert.Equal(t, 7, f.Redactions)
		}
		assert.GreaterOrEqual(t, idx.Redactions, 30)
	}
}
