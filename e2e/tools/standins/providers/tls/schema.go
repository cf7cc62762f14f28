package main

import "cachemesh.e2e/standins/providers/standin"

// schema: the resources this stand-in implements, with pulumi-tls's property names and types.
func schema() string {
	s, i, b, a := standin.Prop{Type: "string"}, standin.Prop{Type: "integer"}, standin.Prop{Type: "boolean"},
		standin.Prop{Type: "array"}
	sec := standin.Prop{Type: "string", Secret: true}
	subject := map[string]standin.Prop{
		"commonName": s, "country": s, "locality": s, "organization": s, "organizationalUnit": s,
		"postalCode": s, "province": s, "serialNumber": s, "streetAddresses": a,
	}
	certInputs := func(selfSigned bool) map[string]standin.Prop {
		in := map[string]standin.Prop{
			"allowedUses": a, "earlyRenewalHours": i, "isCaCertificate": b, "maxPathLength": i,
			"setSubjectKeyId": b, "validityPeriodHours": i,
		}
		if selfSigned {
			in["privateKeyPem"], in["dnsNames"], in["ipAddresses"], in["uris"] = sec, a, a, a
			in["setAuthorityKeyId"] = b
			in["subject"] = standin.Prop{Ref: "#/types/tls:index/SelfSignedCertSubject:SelfSignedCertSubject"}
		} else {
			in["caCertPem"], in["caPrivateKeyPem"], in["certRequestPem"] = s, sec, s
		}
		return in
	}
	certOutputs := map[string]standin.Prop{
		"certPem": s, "readyForRenewal": b, "validityStartTime": s, "validityEndTime": s,
	}
	selfOut, localOut := map[string]standin.Prop{"keyAlgorithm": s}, map[string]standin.Prop{"caKeyAlgorithm": s}
	for k, v := range certOutputs {
		selfOut[k], localOut[k] = v, v
	}
	return standin.Schema("tls", Version, map[string]standin.ResourceSpec{
		"tls:index/privateKey:PrivateKey": {
			Inputs: map[string]standin.Prop{"algorithm": s, "ecdsaCurve": s, "rsaBits": i},
			Outputs: map[string]standin.Prop{
				"privateKeyPem": sec, "privateKeyPemPkcs8": sec, "privateKeyOpenssh": sec, "publicKeyPem": s,
				"publicKeyOpenssh": s, "publicKeyFingerprintMd5": s, "publicKeyFingerprintSha256": s,
			},
			RequiredInputs: []string{"algorithm"},
			Required: []string{"algorithm", "ecdsaCurve", "privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8",
				"publicKeyFingerprintMd5", "publicKeyFingerprintSha256", "publicKeyOpenssh", "publicKeyPem", "rsaBits"},
		},
		"tls:index/selfSignedCert:SelfSignedCert": {
			Inputs: certInputs(true), Outputs: selfOut,
			RequiredInputs: []string{"allowedUses", "privateKeyPem", "validityPeriodHours"},
			Required: []string{"allowedUses", "certPem", "earlyRenewalHours", "isCaCertificate", "keyAlgorithm",
				"maxPathLength", "privateKeyPem", "readyForRenewal", "setAuthorityKeyId", "setSubjectKeyId",
				"validityEndTime", "validityPeriodHours", "validityStartTime"},
		},
		"tls:index/locallySignedCert:LocallySignedCert": {
			Inputs: certInputs(false), Outputs: localOut,
			RequiredInputs: []string{"allowedUses", "caCertPem", "caPrivateKeyPem", "certRequestPem",
				"validityPeriodHours"},
			Required: []string{"allowedUses", "caCertPem", "caKeyAlgorithm", "caPrivateKeyPem", "certPem",
				"certRequestPem", "earlyRenewalHours", "isCaCertificate", "maxPathLength", "readyForRenewal",
				"setSubjectKeyId", "validityEndTime", "validityPeriodHours", "validityStartTime"},
		},
		"tls:index/certRequest:CertRequest": {
			Inputs: map[string]standin.Prop{
				"privateKeyPem": sec, "dnsNames": a, "ipAddresses": a, "uris": a,
				"subject": {Ref: "#/types/tls:index/CertRequestSubject:CertRequestSubject"},
			},
			Outputs:        map[string]standin.Prop{"certRequestPem": s, "keyAlgorithm": s},
			RequiredInputs: []string{"privateKeyPem"},
			Required:       []string{"certRequestPem", "keyAlgorithm", "privateKeyPem"},
		},
	}, map[string]map[string]standin.Prop{
		"tls:index/SelfSignedCertSubject:SelfSignedCertSubject": subject,
		"tls:index/CertRequestSubject:CertRequestSubject":       subject,
	}, nil)
}
