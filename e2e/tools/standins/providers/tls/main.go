// STAND-IN for pulumi-resource-tls (the Go module proxy does not serve
// github.com/pulumi/pulumi-tls/provider/v5). pulumi-tls bridges hashicorp/terraform-provider-tls;
// this program does what that provider does for the four resources cachemesh uses
// (components/trust_anchors.py, components/linkerd_identity.py), read from its source at
// hashicorp/terraform-provider-tls@d72d90e1 (internal/provider/*.go), with Go's crypto/x509 as
// the real provider uses it:
//
//   - tls:index/privateKey:PrivateKey: algorithm RSA (rsaBits, default 2048), ECDSA (ecdsaCurve,
//     default P224) or ED25519. privateKeyPem is PKCS#1 for RSA, SEC1 ("EC PRIVATE KEY") for ECDSA,
//     PKCS#8 for ED25519; privateKeyPemPkcs8 is PKCS#8 for all (resource_private_key.go Create);
//     the public key in PEM and OpenSSH form with its fingerprints; id = SHA-1 hex of the public
//     key's DER (common_key.go setPublicKeyAttributes). Any input change replaces it.
//   - tls:index/selfSignedCert:SelfSignedCert and tls:index/locallySignedCert:LocallySignedCert:
//     common_cert.go createCertificate: 128-bit random serial (the id), NotBefore now, NotAfter
//     now + validityPeriodHours, key usages and extended key usages from allowedUses, IsCA with a
//     subject key id (SHA-1 of the public key bits) for CAs, MaxPathLen when maxPathLength is set
//     (never MaxPathLenZero), setSubjectKeyId / setAuthorityKeyId; validityStartTime and
//     validityEndTime in RFC 3339; readyForRenewal when now >= end - earlyRenewalHours, which
//     replaces the certificate at the next diff (modifyPlanIfCertificateReadyForRenewal). Every
//     input change replaces, except earlyRenewalHours, which updates in place.
//   - tls:index/certRequest:CertRequest: x509.CreateCertificateRequest with subject, DNS names,
//     IPs and URIs; id = SHA-1 hex of the DER.
//
// Sensitive attributes (private keys) come back as secrets, as the bridge marks them.
// Left out: the functions (getCertificate, getPublicKey), the provider's proxy configuration,
// subject.emailAddress, and the `version` schema details a code generator would need.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the ids and key ids terraform-provider-tls computes
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"time"

	"cachemesh.e2e/standins/providers/standin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// Version is the pulumi-tls version this stand-in answers for (set by the build, -ldflags -X).
var Version = "5.6.2"

func main() {
	standin.Main(&standin.Provider{
		Name:    "tls",
		Version: Version,
		Schema:  schema(),
		Resources: map[string]standin.Resource{
			"tls:index/privateKey:PrivateKey":               privateKey{},
			"tls:index/selfSignedCert:SelfSignedCert":       cert{selfSigned: true},
			"tls:index/locallySignedCert:LocallySignedCert": cert{},
			"tls:index/certRequest:CertRequest":             certRequest{},
		},
	})
}

// now is terraform-provider-tls's overridableTimeFunc; CACHEMESH_TLS_STANDIN_NOW (RFC 3339) moves
// it, for tests that need "a day later" without waiting a day.
func now() time.Time {
	if s := os.Getenv("CACHEMESH_TLS_STANDIN_NOW"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Now()
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }
func secret(s string) resource.PropertyValue {
	return resource.MakeSecret(resource.NewStringProperty(s))
}
func computed() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }
func hashForState(b []byte) string     { h := sha1.Sum(b); return hex.EncodeToString(h[:]) } //nolint:gosec
func pemString(kind string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
}

// ---- PrivateKey ----

type privateKey struct{}

var privateKeyInputs = []string{"algorithm", "ecdsaCurve", "rsaBits"}
var privateKeyOutputs = []string{
	"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem", "publicKeyOpenssh",
	"publicKeyFingerprintMd5", "publicKeyFingerprintSha256",
}

func (privateKey) Check(news resource.PropertyMap) (resource.PropertyMap, error) {
	out := news.Copy()
	standin.Default(out, "ecdsaCurve", str("P224"))
	standin.Default(out, "rsaBits", resource.NewNumberProperty(2048))
	switch a := standin.String(out, "algorithm"); a {
	case "RSA", "ECDSA", "ED25519", "":
	default:
		return nil, fmt.Errorf("Key Algorithm %q is not supported", a)
	}
	return out, nil
}

func (privateKey) Diff(oldInputs, _, news resource.PropertyMap) standin.Diff {
	changed := standin.ChangedInputs(oldInputs, news, privateKeyInputs)
	return standin.Diff{Changed: changed, Replaces: changed}
}

func (privateKey) Create(_ context.Context, _ standin.Logger, _ string, news resource.PropertyMap, preview bool) (
	string, resource.PropertyMap, error,
) {
	state := news.Copy()
	if preview {
		for _, k := range privateKeyOutputs {
			state[resource.PropertyKey(k)] = computed()
		}
		return "", state, nil
	}
	var key crypto.Signer
	var err error
	switch standin.String(news, "algorithm") {
	case "RSA":
		key, err = rsa.GenerateKey(rand.Reader, int(standin.Int(news, "rsaBits", 2048)))
	case "ECDSA":
		curves := map[string]elliptic.Curve{
			"P224": elliptic.P224(), "P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521(),
		}
		curve, ok := curves[standin.String(news, "ecdsaCurve")]
		if !ok {
			return "", nil, fmt.Errorf("invalid ECDSA curve %q; supported values are: P224, P256, P384, P521",
				standin.String(news, "ecdsaCurve"))
		}
		key, err = ecdsa.GenerateKey(curve, rand.Reader)
	case "ED25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", nil, fmt.Errorf("Key Algorithm %q is not supported", standin.String(news, "algorithm"))
	}
	if err != nil {
		return "", nil, fmt.Errorf("Unable to generate Key from configuration: %w", err)
	}
	var keyPem string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		keyPem = pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", nil, err
		}
		keyPem = pemString("EC PRIVATE KEY", der)
	default:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", nil, err
		}
		keyPem = pemString("PRIVATE KEY", der)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	state["privateKeyPem"] = secret(keyPem)
	state["privateKeyPemPkcs8"] = secret(pemString("PRIVATE KEY", pkcs8))
	// OpenSSH except for ECDSA P-224, which x/crypto/ssh cannot write (prvKeySupportsOpenSSHMarshalling).
	openssh := ""
	if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve.Params().Name != "P-224" {
		block, err := ssh.MarshalPrivateKey(key, "")
		if err != nil {
			return "", nil, fmt.Errorf("Unable to marshal private key into OpenSSH format: %w", err)
		}
		openssh = string(pem.EncodeToMemory(block))
	}
	state["privateKeyOpenssh"] = secret(openssh)
	pubDer, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	state["publicKeyPem"] = str(pemString("PUBLIC KEY", pubDer))
	sshPub, fpMD5, fpSHA := "", "", ""
	if pub, err := ssh.NewPublicKey(key.Public()); err == nil {
		sshPub = string(ssh.MarshalAuthorizedKey(pub))
		fpMD5, fpSHA = ssh.FingerprintLegacyMD5(pub), ssh.FingerprintSHA256(pub)
	}
	state["publicKeyOpenssh"] = str(sshPub)
	state["publicKeyFingerprintMd5"] = str(fpMD5)
	state["publicKeyFingerprintSha256"] = str(fpSHA)
	return hashForState(pubDer), state, nil
}

func (privateKey) Update(_ context.Context, _ standin.Logger, olds, _ resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	return olds, nil // every input replaces: the engine never updates a key in place
}

func (privateKey) Delete(context.Context, standin.Logger, resource.PropertyMap) error { return nil }

func (privateKey) Read(olds resource.PropertyMap) resource.PropertyMap { return olds }

// ---- parsing (common.go parsePrivateKeyPEM, parseCertificate, parseCertificateRequest) ----

func parsePrivateKeyPEM(s string) (crypto.Signer, string, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, "", errors.New("failed to decode PEM block: decoded bytes are empty")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("failed to decode private key: unsupported PEM preamble %q", block.Type)
	}
	if err != nil {
		return nil, "", err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, "RSA", nil
	case *ecdsa.PrivateKey:
		return k, "ECDSA", nil
	case ed25519.PrivateKey:
		return k, "ED25519", nil
	}
	return nil, "", fmt.Errorf("unsupported private key type %T", key)
}

// ---- SelfSignedCert, LocallySignedCert ----

type cert struct{ selfSigned bool }

func (c cert) inputs() []string {
	common := []string{
		"allowedUses", "earlyRenewalHours", "isCaCertificate", "maxPathLength", "setSubjectKeyId",
		"validityPeriodHours",
	}
	if c.selfSigned {
		return append(common, "dnsNames", "ipAddresses", "privateKeyPem", "setAuthorityKeyId", "subject", "uris")
	}
	return append(common, "caCertPem", "caPrivateKeyPem", "certRequestPem")
}

func (c cert) Check(news resource.PropertyMap) (resource.PropertyMap, error) {
	out := news.Copy()
	standin.Default(out, "earlyRenewalHours", resource.NewNumberProperty(0))
	standin.Default(out, "isCaCertificate", resource.NewBoolProperty(false))
	standin.Default(out, "setSubjectKeyId", resource.NewBoolProperty(false))
	if c.selfSigned {
		standin.Default(out, "setAuthorityKeyId", resource.NewBoolProperty(false))
	}
	for _, k := range []string{"privateKeyPem", "caPrivateKeyPem"} { // sensitive inputs
		if v, ok := out[resource.PropertyKey(k)]; ok && !v.IsSecret() && !v.IsComputed() {
			out[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	return out, nil
}

// readyForRenewal: the validity end minus earlyRenewalHours has passed.
func readyForRenewal(state resource.PropertyMap) bool {
	end, err := time.Parse(time.RFC3339, standin.String(state, "validityEndTime"))
	if err != nil {
		return false
	}
	early := time.Duration(standin.Int(state, "earlyRenewalHours", 0)) * time.Hour
	return !now().Before(end.Add(-early))
}

func (c cert) Diff(oldInputs, olds, news resource.PropertyMap) standin.Diff {
	changed := standin.ChangedInputs(oldInputs, news, c.inputs())
	var replaces []string
	for _, k := range changed {
		if k != "earlyRenewalHours" {
			replaces = append(replaces, k)
		}
	}
	// Due for renewal (with the new earlyRenewalHours): replaced.
	planned := olds.Copy()
	planned["earlyRenewalHours"] = resource.NewNumberProperty(float64(standin.Int(news, "earlyRenewalHours", 0)))
	if readyForRenewal(planned) {
		changed = append(changed, "readyForRenewal")
		replaces = append(replaces, "readyForRenewal")
	}
	return standin.Diff{Changed: changed, Replaces: replaces}
}

func subjectName(m resource.PropertyMap) pkix.Name {
	v := standin.Plain(m, "subject")
	if v == nil || !v.IsObject() {
		return pkix.Name{}
	}
	s := v.ObjectValue()
	name := pkix.Name{
		CommonName: standin.String(s, "commonName"), SerialNumber: standin.String(s, "serialNumber"),
		StreetAddress: standin.Strings(s, "streetAddresses"),
	}
	one := func(key string) []string {
		if x := standin.String(s, key); x != "" {
			return []string{x}
		}
		return nil
	}
	name.Organization, name.OrganizationalUnit = one("organization"), one("organizationalUnit")
	name.Locality, name.Province = one("locality"), one("province")
	name.Country, name.PostalCode = one("country"), one("postalCode")
	return name
}

var keyUsages = map[string]x509.KeyUsage{
	"digital_signature": x509.KeyUsageDigitalSignature, "content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment": x509.KeyUsageKeyEncipherment, "data_encipherment": x509.KeyUsageDataEncipherment,
	"key_agreement": x509.KeyUsageKeyAgreement, "cert_signing": x509.KeyUsageCertSign,
	"crl_signing": x509.KeyUsageCRLSign, "encipher_only": x509.KeyUsageEncipherOnly,
	"decipher_only": x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended": x509.ExtKeyUsageAny, "server_auth": x509.ExtKeyUsageServerAuth,
	"client_auth": x509.ExtKeyUsageClientAuth, "code_signing": x509.ExtKeyUsageCodeSigning,
	"email_protection": x509.ExtKeyUsageEmailProtection, "ipsec_end_system": x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel": x509.ExtKeyUsageIPSECTunnel, "ipsec_user": x509.ExtKeyUsageIPSECUser,
	"timestamping": x509.ExtKeyUsageTimeStamping, "ocsp_signing": x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

// generateSubjectKeyID: SHA-1 of the public key bits (common_cert.go).
func generateSubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	var b []byte
	var err error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b, err = asn1.Marshal(*k)
	case *ecdsa.PublicKey:
		b = elliptic.Marshal(k.Curve, k.X, k.Y) //nolint:staticcheck // as terraform-provider-tls does
	case ed25519.PublicKey:
		b, err = asn1.Marshal(k)
	default:
		err = fmt.Errorf("unsupported public key type %T", pub)
	}
	if err != nil {
		return nil, err
	}
	h := sha1.Sum(b) //nolint:gosec
	return h[:], nil
}

func (c cert) Create(_ context.Context, _ standin.Logger, _ string, news resource.PropertyMap, preview bool) (
	string, resource.PropertyMap, error,
) {
	state := news.Copy()
	state["readyForRenewal"] = resource.NewBoolProperty(false)
	if preview {
		for _, k := range []string{"certPem", "validityStartTime", "validityEndTime", "keyAlgorithm", "caKeyAlgorithm"} {
			if c.selfSigned != (k == "caKeyAlgorithm") {
				state[resource.PropertyKey(k)] = computed()
			}
		}
		return "", state, nil
	}
	template := &x509.Certificate{BasicConstraintsValid: true}
	var parent *x509.Certificate
	var pub crypto.PublicKey
	var signer crypto.Signer
	if c.selfSigned {
		key, algorithm, err := parsePrivateKeyPEM(standin.String(news, "privateKeyPem"))
		if err != nil {
			return "", nil, fmt.Errorf("Failed to parse private key PEM: %w", err)
		}
		state["keyAlgorithm"] = str(algorithm)
		template.Subject = subjectName(news)
		template.DNSNames = standin.Strings(news, "dnsNames")
		for _, s := range standin.Strings(news, "ipAddresses") {
			ip := net.ParseIP(s)
			if ip == nil {
				return "", nil, fmt.Errorf("Invalid IP address: Failed to parse %q", s)
			}
			template.IPAddresses = append(template.IPAddresses, ip)
		}
		for _, s := range standin.Strings(news, "uris") {
			u, err := url.Parse(s)
			if err != nil {
				return "", nil, fmt.Errorf("Invalid URI: Failed to parse %q: %w", s, err)
			}
			template.URIs = append(template.URIs, u)
		}
		parent, pub, signer = template, key.Public(), key
	} else {
		reqBlock, _ := pem.Decode([]byte(standin.String(news, "certRequestPem")))
		if reqBlock == nil {
			return "", nil, errors.New("Failed to parse certificate request PEM")
		}
		csr, err := x509.ParseCertificateRequest(reqBlock.Bytes)
		if err != nil {
			return "", nil, fmt.Errorf("Failed to parse certificate request PEM: %w", err)
		}
		caKey, algorithm, err := parsePrivateKeyPEM(standin.String(news, "caPrivateKeyPem"))
		if err != nil {
			return "", nil, fmt.Errorf("Failed to parse CA private key PEM: %w", err)
		}
		state["caKeyAlgorithm"] = str(algorithm)
		caBlock, _ := pem.Decode([]byte(standin.String(news, "caCertPem")))
		if caBlock == nil {
			return "", nil, errors.New("Failed to parse CA certificate PEM")
		}
		if parent, err = x509.ParseCertificate(caBlock.Bytes); err != nil {
			return "", nil, fmt.Errorf("Failed to parse CA certificate PEM: %w", err)
		}
		template.Subject, template.DNSNames = csr.Subject, csr.DNSNames
		template.IPAddresses, template.URIs = csr.IPAddresses, csr.URIs
		pub, signer = csr.PublicKey, caKey
	}

	// createCertificate
	template.NotBefore = now()
	template.NotAfter = template.NotBefore.Add(time.Duration(standin.Int(news, "validityPeriodHours", 0)) * time.Hour)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return "", nil, err
	}
	template.SerialNumber = serial
	for _, use := range standin.Strings(news, "allowedUses") {
		if u, ok := keyUsages[use]; ok {
			template.KeyUsage |= u
		}
		if u, ok := extKeyUsages[use]; ok {
			template.ExtKeyUsage = append(template.ExtKeyUsage, u)
		}
	}
	if standin.Bool(news, "isCaCertificate") {
		if template.Subject.String() == "" {
			return "", nil, errors.New("Invalid Certificate Subject: Must contain at least one Distinguished " +
				"Name when creating Certificate Authority (CA)")
		}
		template.IsCA = true
		if template.SubjectKeyId, err = generateSubjectKeyID(pub); err != nil {
			return "", nil, err
		}
	}
	if v := standin.Plain(news, "maxPathLength"); v != nil && v.IsNumber() && v.NumberValue() >= 0 {
		template.MaxPathLen = int(v.NumberValue())
	}
	if standin.Bool(news, "setSubjectKeyId") {
		if template.SubjectKeyId, err = generateSubjectKeyID(pub); err != nil {
			return "", nil, err
		}
	}
	if c.selfSigned && standin.Bool(news, "setAuthorityKeyId") {
		if len(parent.SubjectKeyId) == 0 {
			return "", nil, errors.New("Invalid Certificate Authority: Could not determine Authority Key Identifier")
		}
		template.AuthorityKeyId = parent.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		return "", nil, fmt.Errorf("Failed to create certificate: %w", err)
	}
	from, _ := template.NotBefore.MarshalText()
	to, _ := template.NotAfter.MarshalText()
	state["certPem"] = str(pemString("CERTIFICATE", der))
	state["validityStartTime"] = str(string(from))
	state["validityEndTime"] = str(string(to))
	return serial.String(), state, nil
}

// Update: only earlyRenewalHours changes in place (updatedUsingPlan).
func (c cert) Update(_ context.Context, _ standin.Logger, olds, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	state := olds.Copy()
	state["earlyRenewalHours"] = resource.NewNumberProperty(float64(standin.Int(news, "earlyRenewalHours", 0)))
	return state, nil
}

func (cert) Delete(context.Context, standin.Logger, resource.PropertyMap) error { return nil }

// Read: a refresh marks a certificate due for renewal (modifyStateIfCertificateReadyForRenewal).
func (cert) Read(olds resource.PropertyMap) resource.PropertyMap {
	state := olds.Copy()
	if readyForRenewal(state) {
		state["readyForRenewal"] = resource.NewBoolProperty(true)
	}
	return state
}

// ---- CertRequest ----

type certRequest struct{}

var certRequestInputs = []string{"dnsNames", "ipAddresses", "privateKeyPem", "subject", "uris"}

func (certRequest) Check(news resource.PropertyMap) (resource.PropertyMap, error) {
	out := news.Copy()
	if v, ok := out["privateKeyPem"]; ok && !v.IsSecret() && !v.IsComputed() {
		out["privateKeyPem"] = resource.MakeSecret(v)
	}
	return out, nil
}

func (certRequest) Diff(oldInputs, _, news resource.PropertyMap) standin.Diff {
	changed := standin.ChangedInputs(oldInputs, news, certRequestInputs)
	return standin.Diff{Changed: changed, Replaces: changed}
}

func (certRequest) Create(_ context.Context, _ standin.Logger, _ string, news resource.PropertyMap, preview bool) (
	string, resource.PropertyMap, error,
) {
	state := news.Copy()
	if preview {
		state["certRequestPem"], state["keyAlgorithm"] = computed(), computed()
		return "", state, nil
	}
	key, algorithm, err := parsePrivateKeyPEM(standin.String(news, "privateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("Failed to parse private key PEM: %w", err)
	}
	req := &x509.CertificateRequest{Subject: subjectName(news), DNSNames: standin.Strings(news, "dnsNames")}
	for _, s := range standin.Strings(news, "ipAddresses") {
		ip := net.ParseIP(s)
		if ip == nil {
			return "", nil, fmt.Errorf("Invalid IP address: Failed to parse %q", s)
		}
		req.IPAddresses = append(req.IPAddresses, ip)
	}
	for _, s := range standin.Strings(news, "uris") {
		u, err := url.Parse(s)
		if err != nil {
			return "", nil, fmt.Errorf("Invalid URI: Failed to parse %q: %w", s, err)
		}
		req.URIs = append(req.URIs, u)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, key)
	if err != nil {
		return "", nil, fmt.Errorf("Error creating certificate request: %w", err)
	}
	state["keyAlgorithm"] = str(algorithm)
	state["certRequestPem"] = str(pemString("CERTIFICATE REQUEST", der))
	return hashForState(der), state, nil
}

func (certRequest) Update(_ context.Context, _ standin.Logger, olds, _ resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	return olds, nil
}

func (certRequest) Delete(context.Context, standin.Logger, resource.PropertyMap) error { return nil }

func (certRequest) Read(olds resource.PropertyMap) resource.PropertyMap { return olds }
