using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustServer.Testing;

namespace TrustServer.Testing.Tests;

public sealed class TestCertificatesTests
{
    private const string EcdsaWithSha1Oid = "1.2.840.10045.4.1";
    private const string EcdsaWithSha256Oid = "1.2.840.10045.4.3.2";
    private const string Sha1WithRsaOid = "1.2.840.113549.1.1.5";
    private const string Sha256WithRsaOid = "1.2.840.113549.1.1.11";

    [Fact]
    public void CreateTlsServer_IssuedByCa_VerifiesAgainstCustomTrustStore()
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var leaf = TestCertificates.CreateTlsServer(ca);

        using var chain = NewChain(ca.Certificate);
        var valid = chain.Build(leaf.Certificate);

        Assert.True(valid, DescribeChain(chain));
        Assert.Equal(2, chain.ChainElements.Count);
        Assert.Equal(ca.Certificate.Thumbprint, chain.ChainElements[1].Certificate.Thumbprint);
    }

    [Fact]
    public void Create_ThroughIntermediate_VerifiesWithIntermediateInExtraStore()
    {
        using var root = TestCertificates.CreateCertificateAuthority(keyAlgorithm: TestKeyAlgorithm.Rsa);
        using var intermediate = TestCertificates.CreateIntermediate(root);
        using var leaf = TestCertificates.CreateTlsClient(intermediate);

        using var chain = NewChain(root.Certificate);
        chain.ChainPolicy.ExtraStore.Add(intermediate.Certificate);

        Assert.True(chain.Build(leaf.Certificate), DescribeChain(chain));
        Assert.Equal(3, chain.ChainElements.Count);
        Assert.Equal(2, leaf.GetChainPem().Split("BEGIN CERTIFICATE").Length - 1);
        Assert.Equal(3, leaf.GetChainPem(includeRoot: true).Split("BEGIN CERTIFICATE").Length - 1);
    }

    [Fact]
    public void Create_IssuedByOtherCa_DoesNotVerify()
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var otherCa = TestCertificates.CreateCertificateAuthority("Other CA");
        using var leaf = TestCertificates.CreateTlsServer(otherCa);

        using var chain = NewChain(ca.Certificate);

        Assert.False(chain.Build(leaf.Certificate));
    }

    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256, EcdsaWithSha1Oid)]
    [InlineData(TestKeyAlgorithm.Rsa, Sha1WithRsaOid)]
    public void Create_Sha1SignatureHash_IsReallySignedWithSha1(TestKeyAlgorithm algorithm, string expectedOid)
    {
        using var ca = TestCertificates.CreateCertificateAuthority(keyAlgorithm: algorithm);
        using var leaf = TestCertificates.Create(new TestCertificateOptions { CommonName = "sha1", SignatureHash = HashAlgorithmName.SHA1 }, ca);

        Assert.Equal(expectedOid, leaf.Certificate.SignatureAlgorithm.Value);
        var (tbs, algorithmOid, signature) = SplitCertificate(leaf.Certificate.RawData);
        Assert.Equal(expectedOid, algorithmOid);
        Assert.True(VerifyWith(ca, tbs, signature, HashAlgorithmName.SHA1), "signature must verify over SHA-1");
        Assert.False(VerifyWith(ca, tbs, signature, HashAlgorithmName.SHA256), "signature must not verify over SHA-256");
    }

    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256, EcdsaWithSha256Oid)]
    [InlineData(TestKeyAlgorithm.Rsa, Sha256WithRsaOid)]
    public void Create_DefaultSignatureHash_IsSha256(TestKeyAlgorithm algorithm, string expectedOid)
    {
        using var ca = TestCertificates.CreateCertificateAuthority(keyAlgorithm: algorithm);
        using var leaf = TestCertificates.Create(new TestCertificateOptions(), ca);

        Assert.Equal(expectedOid, leaf.Certificate.SignatureAlgorithm.Value);
        var (tbs, _, signature) = SplitCertificate(leaf.Certificate.RawData);
        Assert.True(VerifyWith(ca, tbs, signature, HashAlgorithmName.SHA256));
    }

    [Fact]
    public void Create_SelfSignedSha1_CarriesSha1Oid()
    {
        using var root = TestCertificates.Create(new TestCertificateOptions { CommonName = "example.com/test/repo", SignatureHash = HashAlgorithmName.SHA1 });

        Assert.Equal(EcdsaWithSha1Oid, root.Certificate.SignatureAlgorithm.Value);
        Assert.Null(root.Issuer);
        Assert.Equal("CN=example.com/test/repo", root.Certificate.Subject);
        Assert.Equal(root.Certificate.Subject, root.Certificate.Issuer);
    }

    [Fact]
    public void Create_ExplicitValidity_IsHonoredAndExpiredLeafFailsChain()
    {
        var notBefore = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var notAfter = new DateTimeOffset(2021, 6, 7, 8, 9, 10, TimeSpan.Zero);
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var expired = TestCertificates.Create(new TestCertificateOptions { NotBefore = notBefore, NotAfter = notAfter }, ca);

        Assert.Equal(notBefore.UtcDateTime, expired.Certificate.NotBefore.ToUniversalTime());
        Assert.Equal(notAfter.UtcDateTime, expired.Certificate.NotAfter.ToUniversalTime());

        using var chain = NewChain(ca.Certificate);
        Assert.False(chain.Build(expired.Certificate));
        Assert.Contains(chain.ChainStatus, status => status.Status.HasFlag(X509ChainStatusFlags.NotTimeValid));
    }

    [Fact]
    public void Create_DefaultValidity_IsFromOneHourAgoForOneYear()
    {
        var before = DateTimeOffset.UtcNow;
        using var cert = TestCertificates.Create(new TestCertificateOptions());
        var after = DateTimeOffset.UtcNow;

        var notBefore = new DateTimeOffset(cert.Certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(cert.Certificate.NotAfter.ToUniversalTime());
        Assert.InRange(notBefore, before.AddHours(-1).AddSeconds(-1), after.AddHours(-1));
        Assert.InRange(notAfter, before.AddYears(1).AddSeconds(-1), after.AddYears(1));
    }

    [Fact]
    public void CreateTlsServer_Extensions_HaveSansServerAuthAndNoCa()
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var server = TestCertificates.CreateTlsServer(ca, "notary-server", "notaryserver");

        var san = server.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "notaryserver"], san.EnumerateDnsNames().ToArray());
        Assert.Equal([IPAddress.Loopback], san.EnumerateIPAddresses().ToArray());
        var eku = server.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(new[] { ExtendedKeyUsageOids.ServerAuth }, eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());
        Assert.False(server.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(ca.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(server.Certificate.MatchesHostname("localhost"));
        Assert.True(server.Certificate.MatchesHostname("127.0.0.1"));
    }

    [Fact]
    public void Create_CodeSigningAndCustomKeyUsage_AreWritten()
    {
        using var cert = TestCertificates.Create(new TestCertificateOptions
        {
            ExtendedKeyUsages = [ExtendedKeyUsageOids.CodeSigning, ExtendedKeyUsageOids.ClientAuth],
            KeyUsages = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation,
            IsCertificateAuthority = true,
            PathLengthConstraint = 0,
        });

        var eku = cert.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(new[] { ExtendedKeyUsageOids.CodeSigning, ExtendedKeyUsageOids.ClientAuth }, eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, cert.Certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var basic = cert.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(basic.HasPathLengthConstraint);
        Assert.Equal(0, basic.PathLengthConstraint);
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(3072)]
    public void Create_RsaKeySize_IsHonored(int keySize)
    {
        using var cert = TestCertificates.Create(new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa, RsaKeySize = keySize });

        Assert.Equal(keySize, cert.Certificate.GetRSAPublicKey()!.KeySize);
    }

    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256)]
    [InlineData(TestKeyAlgorithm.EcdsaP384)]
    [InlineData(TestKeyAlgorithm.Rsa)]
    public void Pem_RoundTrip_RestoresCertificateAndMatchingKey(TestKeyAlgorithm algorithm)
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var original = TestCertificates.Create(new TestCertificateOptions { KeyAlgorithm = algorithm }, ca);

        foreach (var keyPem in new[] { original.PrivateKeyPem, original.TraditionalPrivateKeyPem })
        {
            using var restored = X509Certificate2.CreateFromPem(original.CertificatePem, keyPem);
            Assert.Equal(original.Certificate.Thumbprint, restored.Thumbprint);
            Assert.True(restored.HasPrivateKey);
            AssertKeyMatches(restored);
        }

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", original.PrivateKeyPem, StringComparison.Ordinal);
        Assert.StartsWith(algorithm == TestKeyAlgorithm.Rsa ? "-----BEGIN RSA PRIVATE KEY-----" : "-----BEGIN EC PRIVATE KEY-----", original.TraditionalPrivateKeyPem, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteFiles_WritesPemFilesAndKeyIsOwnerOnly()
    {
        using var dir = new TemporaryDirectory("cert-test");
        using var ca = TestCertificates.CreateCertificateAuthority();

        var (certPath, keyPath) = ca.WriteFiles(dir.Combine("nested"), "root-ca");

        Assert.Equal(dir.Combine("nested", "root-ca.crt"), certPath);
        using var restored = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        Assert.Equal(ca.Certificate.Thumbprint, restored.Thumbprint);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }
    }

    private static X509Chain NewChain(X509Certificate2 trustedRoot)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain;
    }

    private static string DescribeChain(X509Chain chain) =>
        string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation}"));

    /// <summary>Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }.</summary>
    private static (byte[] Tbs, string AlgorithmOid, byte[] Signature) SplitCertificate(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var certificate = reader.ReadSequence();
        var tbs = certificate.ReadEncodedValue().ToArray();
        var algorithm = certificate.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        var signature = certificate.ReadBitString(out _);
        return (tbs, oid, signature);
    }

    private static bool VerifyWith(TestCertificate issuer, byte[] data, byte[] signature, HashAlgorithmName hash) => issuer.PrivateKey switch
    {
        ECDsa ecdsa => ecdsa.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.VerifyData(data, signature, hash, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException(),
    };

    private static void AssertKeyMatches(X509Certificate2 certificate)
    {
        var data = "proof of possession"u8.ToArray();
        if (certificate.GetECDsaPrivateKey() is { } ecdsa)
        {
            using (ecdsa)
            {
                var signature = ecdsa.SignData(data, HashAlgorithmName.SHA256);
                using var publicKey = certificate.GetECDsaPublicKey()!;
                Assert.True(publicKey.VerifyData(data, signature, HashAlgorithmName.SHA256));
            }

            return;
        }

        using var rsa = certificate.GetRSAPrivateKey()!;
        var rsaSignature = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var rsaPublic = certificate.GetRSAPublicKey()!;
        Assert.True(rsaPublic.VerifyData(data, rsaSignature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }
}
