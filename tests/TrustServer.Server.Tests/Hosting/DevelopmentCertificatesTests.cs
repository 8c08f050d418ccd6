using System.Runtime.Versioning;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustServer.Server.Hosting;
using TrustServer.Server.Options;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Hosting;

/// <summary>
/// The development CA and certificate on disk: generated once, reused while valid, the server certificate renewed
/// when it nears expiry or the names change (the CA kept), the CA renewed when it expires, unreadable files refused.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DevelopmentCertificatesTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporaryDirectory _directory = new("trustserver-devcerts");

    private string Tls => _directory.Combine("tls");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void FirstStart_GeneratesCaAndCertificate_CoveringLoopbackHostNameAndExtraNames_ChainingToTheCa()
    {
        var names = DevelopmentCertificates.NamesFor(["trust.example.test", "10.1.2.3"]);

        using var material = Ensure(names, Now);

        Assert.Equal("CA and server certificate", material.Generated);
        Assert.Equal(Path.Combine(Tls, "ca.crt"), material.CaFile);
        Assert.True(material.Certificate.HasPrivateKey);
        var san = material.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", Dns.GetHostName().ToLowerInvariant(), "trust.example.test"], san.EnumerateDnsNames().ToList());
        Assert.Equal(["127.0.0.1", "::1", "10.1.2.3"], san.EnumerateIPAddresses().Select(ip => ip.ToString()).ToList());
        var eku = material.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal("1.3.6.1.5.5.7.3.1", Assert.Single(eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Value);

        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(material.CaFile));
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = Now.UtcDateTime.AddDays(1);
        Assert.True(chain.Build(material.Certificate), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Tls));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Tls, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Tls, "server.key")));
    }

    [Fact]
    public void LaterStart_ReusesBothFiles()
    {
        var names = DevelopmentCertificates.NamesFor([]);
        using var first = Ensure(names, Now);
        var before = Snapshot();

        using var second = Ensure(names, Now.AddDays(100));

        Assert.Equal("nothing", second.Generated);
        Assert.Equal(first.Certificate.Thumbprint, second.Certificate.Thumbprint);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void NamesChange_NewServerCertificate_SameCa()
    {
        using var first = Ensure(DevelopmentCertificates.NamesFor([]), Now);
        var ca = File.ReadAllText(Path.Combine(Tls, "ca.crt"));

        using var second = Ensure(DevelopmentCertificates.NamesFor(["trust.example.test"]), Now);

        Assert.Equal("server certificate", second.Generated);
        Assert.NotEqual(first.Certificate.Thumbprint, second.Certificate.Thumbprint);
        Assert.Contains("trust.example.test", second.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.Equal(ca, File.ReadAllText(Path.Combine(Tls, "ca.crt")));
    }

    [Fact]
    public void ServerCertificateNearExpiry_Renewed_CaExpired_BothRenewed()
    {
        var names = DevelopmentCertificates.NamesFor([]);
        using var first = Ensure(names, Now);
        var ca = File.ReadAllText(Path.Combine(Tls, "ca.crt"));

        using var renewed = Ensure(names, Now.AddDays(380));
        Assert.Equal("server certificate", renewed.Generated);
        Assert.True(renewed.Certificate.NotAfter > first.Certificate.NotAfter);
        Assert.Equal(ca, File.ReadAllText(Path.Combine(Tls, "ca.crt")));

        using var afterCa = Ensure(names, Now.AddDays(3650));
        Assert.Equal("CA and server certificate", afterCa.Generated);
        Assert.NotEqual(ca, File.ReadAllText(Path.Combine(Tls, "ca.crt")));
    }

    [Fact]
    public void KeyMadeReadable_TightenedBackTo0600()
    {
        var names = DevelopmentCertificates.NamesFor([]);
        using var first = Ensure(names, Now);
        var key = Path.Combine(Tls, "server.key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        using var second = Ensure(names, Now);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public void CorruptKey_StopsTheStart_NamingTheFile_AndLeavesItAlone()
    {
        using (Ensure(DevelopmentCertificates.NamesFor([]), Now))
        {
        }

        var key = Path.Combine(Tls, "ca.key");
        File.WriteAllText(key, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");

        var error = Assert.Throws<ServerConfigurationException>(() => Ensure(DevelopmentCertificates.NamesFor([]), Now));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("delete", error.Message, StringComparison.Ordinal);
        Assert.Contains("bm90IGEga2V5", File.ReadAllText(key), StringComparison.Ordinal);
    }

    private DisposableMaterial Ensure(IReadOnlyList<string> names, DateTimeOffset now) => new(DevelopmentCertificates.Ensure(Tls, names, now));

    private Dictionary<string, string> Snapshot() => Directory.GetFiles(Tls).ToDictionary(f => f, File.ReadAllText);

    private sealed class DisposableMaterial(DevelopmentTlsMaterial material) : IDisposable
    {
        public X509Certificate2 Certificate => material.Certificate;

        public string CaFile => material.CaFile;

        public string Generated => material.Generated;

        public void Dispose() => material.Certificate.Dispose();
    }
}
