using TrustServer.Testing;

namespace TrustServer.Server.Tests.Hosting;

/// <summary>
/// The real server process with bad configuration: one line on standard error naming the problem, exit code 1, no
/// stack trace, and nothing done before the check (no database created).
/// </summary>
public sealed class StartupConfigurationTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("trustserver-config-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory]
    [InlineData("Storage:Provider must be Sqlite or Postgres", "--Storage:Provider=Mongo")]
    [InlineData("Signing:Mode must be Embedded or Remote", "--Signing:Mode=Bogus")]
    [InlineData("Auth:Mode must be None or Token", "--Auth:Mode=Basic")]
    [InlineData("Auth:Mode=Token needs Auth:Token:Realm, Service, Issuer and RootCertBundle", "--Auth:Mode=Token")]
    [InlineData("Signing:Remote:Url must be an absolute URL when Signing:Mode is Remote", "--Signing:Mode=Remote")]
    [InlineData("'CurrentMetadata' with the error: 'The field CurrentMetadata must be between 0 and 31536000.'", "--Caching:MaxAge:CurrentMetadata=31536001")]
    [InlineData("Repositories:GunPrefixes: each prefix must end with '/'", "--Repositories:GunPrefixes:0=docker.io")]
    [InlineData("'KeepDays' with the error: 'The field KeepDays must be between 0 and 36500.'", "--Audit:KeepDays=-1")]
    [InlineData("Signing:Lifetimes:Timestamp must be between 00:01:00 and 3650.00:00:00", "--Signing:Lifetimes:Timestamp=00:00:30")]
    [InlineData("Signing:Lifetimes:Snapshot must be between 00:01:00 and 3650.00:00:00", "--Signing:Lifetimes:Snapshot=3651.00:00:00")]
    [InlineData("Signing:Lifetimes:RenewWhenRemaining must be a fraction between 0 and 1 (exclusive)", "--Signing:Lifetimes:RenewWhenRemaining=1")]
    [InlineData("Signing:Resigner:MaxPerSecond must be positive (at most 100000)", "--Signing:Resigner:MaxPerSecond=0")]
    [InlineData("Keys:Backend must be Database or Pkcs11", "--Keys:Backend=Hsm")]
    [InlineData("Keys:Pkcs11:Library (the PKCS#11 module's path) is required when Keys:Backend is Pkcs11", "--Keys:Backend=Pkcs11")]
    [InlineData("DevelopmentTls:HostNames: 'bad_name' is neither a DNS name nor an IP address", "--DevelopmentTls:Enabled=true", "--DevelopmentTls:HostNames:0=bad_name")]
    [InlineData("DevelopmentTls:Enabled needs an https:// URL to serve", "--DevelopmentTls:Enabled=true")]
    [InlineData("DevelopmentTls:Enabled and Kestrel:Certificates:Default both name the server certificate", "--DevelopmentTls:Enabled=true", "--Kestrel:Certificates:Default:Path=/etc/ssl/server.pem")]
    [InlineData("Webhooks:Endpoints:0:Url must be an absolute http or https URL", "--Webhooks:Endpoints:0:Url=ftp://hooks.example/x")]
    [InlineData("Webhooks:Endpoints:0:Url must be an absolute http or https URL", "--Webhooks:Endpoints:0:Url=https://user:pw@hooks.example/x")]
    [InlineData("Webhooks:Endpoints:0:Events must name at least one of published, deleted, key-rotated, expiring", "--Webhooks:Endpoints:0:Url=https://hooks.example/x")]
    [InlineData("Webhooks:Endpoints:0:Events: unknown event 'pushed'", "--Webhooks:Endpoints:0:Events:0=pushed")]
    [InlineData("Webhooks:Endpoints:0:GunPattern must be a GUN", "--Webhooks:Endpoints:0:GunPattern=example.com/***")]
    [InlineData("Webhooks:MaxBackoff must be at least Webhooks:InitialBackoff", "--Webhooks:MaxBackoff=00:00:01")]
    public async Task BadOption_OneLineAndExitCode1_BeforeAnyDatabase(string problem, params string[] settings)
    {
        var result = await RunServerAsync(settings);

        var line = AssertOneLineError(result);
        Assert.Contains(problem, line, StringComparison.Ordinal);
        Assert.Empty(_directory.GetFiles("*.db"));
    }

    [Fact]
    public async Task SeveralBadOptions_AllNamedOnOneLine()
    {
        var result = await RunServerAsync("--Storage:Provider=Mongo", "--Limits:MaxParts=0");

        var line = AssertOneLineError(result);
        Assert.Contains("Storage:Provider must be Sqlite or Postgres", line, StringComparison.Ordinal);
        Assert.Contains("The field MaxParts must be between 1 and 100000.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookSecretTooShort_NamedButNeverPrinted()
    {
        var result = await RunServerAsync(
            "--Webhooks:Endpoints:0:Url=https://hooks.example/x", "--Webhooks:Endpoints:0:Events:0=published", "--Webhooks:Endpoints:0:Secret=short-secret-XYZ");

        var line = AssertOneLineError(result);
        Assert.Contains("Webhooks:Endpoints:0:Secret must be at least 32 bytes", line, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret-XYZ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MigrateCommand_BadProvider_OneLineAndNoDatabase()
    {
        var result = await RunServerAsync("migrate", "--Storage:Provider=Mongo");

        Assert.Contains("Storage:Provider must be Sqlite or Postgres", AssertOneLineError(result), StringComparison.Ordinal);
        Assert.Empty(_directory.GetFiles("*.db"));
    }

    [Fact]
    public async Task RemoteSignerCaFileMissing_OneLineNamingTheFile()
    {
        var missing = Path.Combine(_directory.FullName, "no-such-ca.pem");
        var result = await RunServerAsync("--Signing:Mode=Remote", "--Signing:Remote:Url=https://127.0.0.1:7899", $"--Signing:Remote:CaFile={missing}");

        Assert.Contains(missing, AssertOneLineError(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenRootCertBundleMissing_OneLineNamingTheFile()
    {
        var missing = Path.Combine(_directory.FullName, "no-such-bundle.pem");
        var result = await RunServerAsync(
            "--Auth:Mode=Token", "--Auth:Token:Realm=https://auth.example/token", "--Auth:Token:Service=notary", "--Auth:Token:Issuer=auth", $"--Auth:Token:RootCertBundle={missing}");

        Assert.Contains(missing, AssertOneLineError(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssuerServices_ClashingOrMalformed_AllNamedOnOneLine()
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        var bundle = ca.WriteCertificatePem(Path.Combine(_directory.FullName, "bundle.pem"));
        var result = await RunServerAsync(
            "--Auth:Mode=Token", "--Auth:Token:Realm=/auth/token", "--Auth:Token:Service=notary", "--Auth:Token:Issuer=auth",
            $"--Auth:Token:RootCertBundle={bundle}", "--Auth:Issuer:Enabled=true",
            "--Auth:Issuer:Services:0:Name=registry", "--Auth:Issuer:Services:0:Audience=notary",
            "--Auth:Issuer:Services:1:Name=registry", "--Auth:Issuer:Services:1:RepositoryPrefix=Registry.example.com/Team",
            "--Auth:Issuer:Services:2:Audience=other");

        var line = AssertOneLineError(result);
        Assert.Contains("Auth:Issuer:Services:0:Audience 'notary' is Auth:Token:Service", line, StringComparison.Ordinal);
        Assert.Contains("Auth:Issuer:Services:1:Name 'registry' is listed twice", line, StringComparison.Ordinal);
        Assert.Contains("Auth:Issuer:Services:1:RepositoryPrefix 'Registry.example.com/Team' must be a repository name prefix ending in '/'", line, StringComparison.Ordinal);
        Assert.Contains("Auth:Issuer:Services:2:Name is required", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssuerServices_WithoutTheIssuer_Refused()
    {
        var result = await RunServerAsync("--Auth:Issuer:Services:0:Name=registry");

        Assert.Contains("Auth:Issuer:Services needs Auth:Issuer:Enabled, Auth:Mode=Token and Auth:Token:Service", AssertOneLineError(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssuerSigningKeyMissing_OneLineNamingTheSetting()
    {
        using var ca = TestCertificates.CreateCertificateAuthority();
        var bundle = ca.WriteCertificatePem(Path.Combine(_directory.FullName, "bundle.pem"));
        var result = await RunServerAsync(
            "--Auth:Mode=Token", "--Auth:Token:Realm=/auth/token", "--Auth:Token:Service=notary", "--Auth:Token:Issuer=auth",
            $"--Auth:Token:RootCertBundle={bundle}", "--Auth:Issuer:Enabled=true");

        Assert.Contains("Auth:Issuer:SigningKeyFile and Auth:Issuer:CertificateFile are required", AssertOneLineError(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfiguredCertificateMissing_FailsClosed_OneLineOnStderr_StdoutStillJson()
    {
        var missing = Path.Combine(_directory.FullName, "no-such-server.pem");
        var result = await RunServerAsync("--urls=https://127.0.0.1:0", $"--Kestrel:Certificates:Default:Path={missing}", $"--Kestrel:Certificates:Default:KeyPath={missing}");

        Assert.False(result.TimedOut, $"{result.CommandLine} kept running");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("TrustServer: configuration error: cannot listen: ", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        foreach (var output in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = System.Text.Json.JsonDocument.Parse(output);
        }
    }

    [Fact]
    public async Task HashPassword_ThroughTheReadmesDotnetRun_PrintsOnlyTheHash()
    {
        // README: HASH=$(printf '%s' 'the password' | dotnet run --no-launch-profile --project src/TrustServer.Server -- hash-password)
        // The tests' own configuration (bin/<configuration>/net10.0): the server project is built with it.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!.Name;
        var root = output;
        while (!File.Exists(Path.Combine(root.FullName, "TrustServer.sln")))
        {
            root = root.Parent ?? throw new InvalidOperationException("TrustServer.sln not found above " + output.FullName);
        }

        var project = Path.Combine(root.FullName, "src", "TrustServer.Server");

        var result = await ProcessRunner.RunAsync(
            "dotnet",
            ["run", "--no-build", "-c", configuration, "--no-launch-profile", "--project", project, "--", "hash-password"],
            TimeSpan.FromSeconds(120),
            standardInput: "the password",
            workingDirectory: _directory.FullName);

        Assert.True(result.Succeeded, result.ToString());
        var hash = Assert.Single(result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd('\r');
        Assert.Equal(0x01, Convert.FromBase64String(hash)[0]); // ASP.NET Core Identity v3 format marker
    }

    private static string AssertOneLineError(ProcessResult result)
    {
        Assert.False(result.TimedOut, $"{result.CommandLine} kept running");
        Assert.Equal(1, result.ExitCode);
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("TrustServer: configuration error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        return line;
    }

    private Task<ProcessResult> RunServerAsync(params string[] settings)
    {
        var server = typeof(TrustServerHost).Assembly.Location;
        string[] sandbox =
        [
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Metadata=Data Source={Path.Combine(_directory.FullName, "metadata.db")}",
            $"--Signing:PassphraseFile={Path.Combine(_directory.FullName, "passphrase")}",
        ];
        string[] arguments = settings.Length > 0 && settings[0] == "migrate" ? [server, "migrate", .. sandbox, .. settings[1..]] : [server, .. sandbox, .. settings];
        return ProcessRunner.RunAsync("dotnet", arguments, TimeSpan.FromSeconds(60), workingDirectory: _directory.FullName);
    }
}
