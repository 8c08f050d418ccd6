using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustServer.Testing;

/// <summary>
/// Throwaway X.509 certificates for tests: CAs, intermediates, TLS server/client leaves and notary root
/// certificates, including deliberately bad ones (expired, not yet valid, SHA-1 signed).
/// </summary>
/// <example>
/// <code>
/// using var ca = TestCertificates.CreateCertificateAuthority();
/// using var server = TestCertificates.CreateTlsServer(ca);
/// var (certPath, keyPath) = server.WriteFiles(dir.Path, "server");
/// using var sha1 = TestCertificates.Create(new TestCertificateOptions { SignatureHash = HashAlgorithmName.SHA1 }, ca);
/// </code>
/// </example>
public static class TestCertificates
{
    /// <summary>Creates a self-signed root CA.</summary>
    /// <param name="commonName">Subject CN.</param>
    /// <param name="keyAlgorithm">Key algorithm of the CA key.</param>
    /// <returns>The CA with its private key.</returns>
    public static TestCertificate CreateCertificateAuthority(
        string commonName = "TrustServer Test Root CA",
        TestKeyAlgorithm keyAlgorithm = TestKeyAlgorithm.EcdsaP256) =>
        Create(new TestCertificateOptions { CommonName = commonName, KeyAlgorithm = keyAlgorithm, IsCertificateAuthority = true });

    /// <summary>Creates an intermediate CA issued by <paramref name="issuer"/>.</summary>
    /// <param name="issuer">The issuing CA.</param>
    /// <param name="commonName">Subject CN.</param>
    /// <returns>The intermediate CA with its private key.</returns>
    public static TestCertificate CreateIntermediate(TestCertificate issuer, string commonName = "TrustServer Test Intermediate CA") =>
        Create(new TestCertificateOptions { CommonName = commonName, IsCertificateAuthority = true }, issuer);

    /// <summary>
    /// Creates a TLS server certificate (serverAuth) for 127.0.0.1 and localhost plus any extra DNS names.
    /// </summary>
    /// <param name="issuer">The issuing CA.</param>
    /// <param name="commonName">Subject CN.</param>
    /// <param name="extraDnsNames">Further DNS SANs.</param>
    /// <returns>The certificate with its private key.</returns>
    public static TestCertificate CreateTlsServer(TestCertificate issuer, string commonName = "localhost", params string[] extraDnsNames) =>
        Create(
            new TestCertificateOptions
            {
                CommonName = commonName,
                DnsNames = ["localhost", .. extraDnsNames],
                IpAddresses = [IPAddress.Loopback],
                ExtendedKeyUsages = [ExtendedKeyUsageOids.ServerAuth],
            },
            issuer);

    /// <summary>Creates a TLS client certificate (clientAuth) for mutual TLS.</summary>
    /// <param name="issuer">The issuing CA.</param>
    /// <param name="commonName">Subject CN.</param>
    /// <returns>The certificate with its private key.</returns>
    public static TestCertificate CreateTlsClient(TestCertificate issuer, string commonName = "trustserver-test-client") =>
        Create(new TestCertificateOptions { CommonName = commonName, ExtendedKeyUsages = [ExtendedKeyUsageOids.ClientAuth] }, issuer);

    /// <summary>Creates a certificate as described by <paramref name="options"/>.</summary>
    /// <param name="options">Subject, key, validity, signature hash and extensions.</param>
    /// <param name="issuer">The issuer, whose key signs the certificate; self-signed when null.</param>
    /// <returns>The certificate with its private key (and a reference to the issuer).</returns>
    public static TestCertificate Create(TestCertificateOptions options, TestCertificate? issuer = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var now = DateTimeOffset.UtcNow;
        var notBefore = options.NotBefore ?? now.AddHours(-1);
        var notAfter = options.NotAfter ?? now.AddYears(1);
        var subject = new X500DistinguishedName($"CN={EscapeDnValue(options.CommonName)}");

        var key = CreateKey(options);
        try
        {
            // Built from the public key (not the key pair) so that any hash is accepted here; the generator below
            // signs. The generator overload of Create (not Create(X509Certificate2 issuer, ...)) lets tests build
            // certificates the platform would refuse: SHA-1 signatures, or validity outside the issuer's.
            var request = new CertificateRequest(subject, new PublicKey(key), options.SignatureHash);
            AddExtensions(request, options, key, issuer);
            var generator = new TestSignatureGenerator(issuer?.PrivateKey ?? key);
            var issuerName = issuer?.Certificate.SubjectName ?? subject;
            var serial = options.SerialNumber?.ToArray() ?? RandomSerialNumber();
            using var unsigned = request.Create(issuerName, generator, notBefore, notAfter, serial);
            X509Certificate2 certificate = key switch
            {
                ECDsa ecdsa => unsigned.CopyWithPrivateKey(ecdsa),
                RSA rsa => unsigned.CopyWithPrivateKey(rsa),
                _ => throw new NotSupportedException(),
            };
            return new TestCertificate(certificate, key, issuer);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static AsymmetricAlgorithm CreateKey(TestCertificateOptions options) => options.KeyAlgorithm switch
    {
        TestKeyAlgorithm.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        TestKeyAlgorithm.EcdsaP384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        TestKeyAlgorithm.EcdsaP521 => ECDsa.Create(ECCurve.NamedCurves.nistP521),
        TestKeyAlgorithm.Rsa => RSA.Create(options.RsaKeySize),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.KeyAlgorithm, "Unknown key algorithm."),
    };

    private static void AddExtensions(CertificateRequest request, TestCertificateOptions options, AsymmetricAlgorithm key, TestCertificate? issuer)
    {
        var isCa = options.IsCertificateAuthority;
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            isCa,
            hasPathLengthConstraint: isCa && options.PathLengthConstraint.HasValue,
            pathLengthConstraint: options.PathLengthConstraint ?? 0,
            critical: true));

        var usages = options.KeyUsages ?? (isCa
            ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature
            : key is RSA
                ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
                : X509KeyUsageFlags.DigitalSignature);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usages, critical: true));

        if (options.ExtendedKeyUsages.Count > 0)
        {
            var oids = new OidCollection();
            foreach (var oid in options.ExtendedKeyUsages)
            {
                oids.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, critical: false));
        }

        if (options.DnsNames.Count > 0 || options.IpAddresses.Count > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in options.DnsNames)
            {
                san.AddDnsName(name);
            }

            foreach (var address in options.IpAddresses)
            {
                san.AddIpAddress(address);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        var subjectKeyId = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKeyId);
        request.CertificateExtensions.Add(issuer is null
            ? X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyId)
            : X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer.Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
    }

    private static byte[] RandomSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive INTEGER
        serial[0] |= 0x01; // and no leading zero byte to strip
        return serial;
    }

    private static string EscapeDnValue(string value) =>
        value.IndexOfAny([',', '+', '"', '\\', '<', '>', ';', '=']) >= 0 || value.StartsWith(' ') || value.EndsWith(' ') || value.StartsWith('#')
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
}
