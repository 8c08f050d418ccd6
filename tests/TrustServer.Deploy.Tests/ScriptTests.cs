using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>The shell scripts parse, and gen-certs.sh produces certificates that verify with the right names and usages.</summary>
public sealed class ScriptTests : IDisposable
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private readonly string _dir = Directory.CreateTempSubdirectory("trustserver-certs-").FullName;

    public static TheoryData<string> Scripts() => new(Repo.ShellScripts);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(Scripts))]
    public void ShellScript_ParsesWithBashN(string script)
    {
        var (code, _, error) = Run("bash", "-n", Repo.PathOf(script));
        Assert.True(code == 0, $"bash -n {script}: {error}");
    }

    [Fact]
    public void ShellScripts_IncludeTheDeployScripts_AndAreExecutable()
    {
        Assert.Contains("deploy/compose/gen-certs.sh", Repo.ShellScripts);
        Assert.Contains("deploy/compose/postgres-init.sh", Repo.ShellScripts);

        // The postgres image executes an executable init script (and would source it otherwise).
        if (!OperatingSystem.IsWindows())
        {
            foreach (var script in Repo.ShellScripts)
            {
                Assert.True(System.IO.File.GetUnixFileMode(Repo.PathOf(script)).HasFlag(UnixFileMode.UserExecute), $"{script} is not executable");
            }
        }
    }

    [Fact]
    public void GenCerts_ProducesCertificatesThatVerifyAgainstTheCa_WithTheRightSansAndUsages()
    {
        var (code, _, error) = Run("bash", Repo.PathOf("deploy/compose/gen-certs.sh"), _dir);
        Assert.True(code == 0, "gen-certs.sh failed: " + error);

        string File(string name) => Path.Combine(_dir, name);
        Assert.False(System.IO.File.Exists(File("ca.key")), "the CA key must not be left behind");
        if (!OperatingSystem.IsWindows())
        {
            foreach (var key in new[] { "signer.key", "server-client.key", "server.key" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(File(key)));
            }
        }

        // openssl's own verdict, with the purpose each certificate is for.
        foreach (var (cert, purpose) in new[] { ("signer.crt", "sslserver"), ("server.crt", "sslserver"), ("server-client.crt", "sslclient") })
        {
            var verify = Run("openssl", "verify", "-CAfile", File("ca.crt"), "-purpose", purpose, File(cert));
            Assert.True(verify.Code == 0, $"openssl verify {cert}: {verify.Output}{verify.Error}");
        }

        using var ca = LoadCertificate(File("ca.crt"));
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        AssertLeaf(File("signer.crt"), File("signer.key"), ca, ServerAuth, ["signer", "localhost"]);
        AssertLeaf(File("server.crt"), File("server.key"), ca, ServerAuth, ["localhost", "trustserver", "proxy"]);
        AssertLeaf(File("server-client.crt"), File("server-client.key"), ca, ClientAuth, []);
    }

    [Fact]
    public void GenCerts_SecondRunKeepsValidCertificates_ForceRegenerates()
    {
        Assert.Equal(0, Run("bash", Repo.PathOf("deploy/compose/gen-certs.sh"), _dir, ("SIGNER_SANS", "a.example,b.example")).Code);
        var first = System.IO.File.ReadAllText(Path.Combine(_dir, "ca.crt"));
        using (var custom = LoadCertificate(Path.Combine(_dir, "signer.crt")))
        {
            Assert.Equal(["a.example", "b.example"], DnsNames(custom));
        }

        var (code, _, error) = Run("bash", Repo.PathOf("deploy/compose/gen-certs.sh"), _dir);
        Assert.Equal(0, code);
        Assert.Contains("nothing to do", error, StringComparison.Ordinal);
        Assert.Equal(first, System.IO.File.ReadAllText(Path.Combine(_dir, "ca.crt")));

        // A certificate that is about to expire is replaced.
        Assert.Equal(0, Run("bash", Repo.PathOf("deploy/compose/gen-certs.sh"), _dir, ("FORCE", "1"), ("DAYS", "1")).Code);
        var shortLived = System.IO.File.ReadAllText(Path.Combine(_dir, "ca.crt"));
        Assert.NotEqual(first, shortLived);
        Assert.Equal(0, Run("bash", Repo.PathOf("deploy/compose/gen-certs.sh"), _dir).Code);
        Assert.NotEqual(shortLived, System.IO.File.ReadAllText(Path.Combine(_dir, "ca.crt")));
    }

    private static void AssertLeaf(string certFile, string keyFile, X509Certificate2 ca, string eku, string[] dnsNames)
    {
        using var leaf = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        Assert.True(leaf.HasPrivateKey);
        Assert.False(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal([eku], leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        Assert.Equal(dnsNames, DnsNames(leaf));
        Assert.True(leaf.NotAfter > DateTime.Now.AddDays(7), "valid for less than a week");

        // The same chain check the signer (client certificates) and the server's gRPC client (signer certificate) do.
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(eku));
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        if (dnsNames.Contains("localhost"))
        {
            Assert.True(leaf.MatchesHostname("localhost"));
            Assert.True(leaf.MatchesHostname("127.0.0.1"));
        }
    }

    private static X509Certificate2 LoadCertificate(string pemFile)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(pemFile);
        return Assert.Single(collection);
    }

    private static List<string> DnsNames(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SingleOrDefault()?.EnumerateDnsNames().ToList() ?? [];

    private static (int Code, string Output, string Error) Run(string file, params object[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            if (arg is (string name, string value))
            {
                start.Environment[name] = value;
            }
            else
            {
                start.ArgumentList.Add((string)arg);
            }
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish in 30 s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
