using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using TrustServer.Deploy.Tests.Support;
using Xunit.Abstractions;

namespace TrustServer.Deploy.Tests;

/// <summary>
/// Every deployment serves with token auth and the built-in issuer, its secrets are generated (gen-auth.sh,
/// create-secrets.sh) and never committed, only the bundled proxy is trusted for forwarded headers, and the files are
/// valid for the real tools: docker-compose 1.29 (Debian's Compose v1), Compose v2 when installed, kubectl kustomize.
/// </summary>
public sealed class AuthDefaultsTests(ITestOutputHelper output) : IDisposable
{
    private const string HashFile = "settings/Auth__Issuer__Users__admin__PasswordHash";

    private readonly string _dir = Directory.CreateTempSubdirectory("trustserver-auth-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Compose_ServingServers_UseTokenAuthWithTheGeneratedIssuerSecrets_AndTrustOnlyTheProxy()
    {
        var services = Manifests.ComposeServices.ToDictionary(s => s.Name, s => s.Service);
        var server = services["server"];
        var env = Manifests.EnvironmentOf(server);
        AssertTokenAuthWithIssuer(env, "compose service server");
        Assert.Equal("/auth/settings", env["Server__SettingsDirectory"]);
        Assert.False(env.ContainsKey("Auth__Issuer__Users__admin__PasswordHash"), "the admin's hash is generated into the auth volume, not written in the compose file");
        foreach (var file in new[] { "Auth__Token__RootCertBundle", "Auth__Issuer__SigningKeyFile", "Auth__Issuer__CertificateFile" })
        {
            Assert.StartsWith("/auth/", env[file], StringComparison.Ordinal);
        }

        Assert.Contains("auth:/auth:ro", server.List("volumes").OfType<string>());
        Assert.Contains("auth:/auth", services["certs"].List("volumes").OfType<string>());
        Assert.Contains("gen-auth.sh", Repo.Read("deploy/docker/certs.Dockerfile"), StringComparison.Ordinal);

        // The proxy's fixed address is the one trusted address, inside the compose network's subnet.
        var proxyAddress = Manifests.ResolveComposeDefaults(services["proxy"].Map("networks").Map("default").Str("ipv4_address")!);
        Assert.Equal(proxyAddress, Manifests.ResolveComposeDefaults(env["Server__ForwardedHeaders__KnownProxies__0"]!));
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("Server__ForwardedHeaders__KnownNetworks", StringComparison.Ordinal));
        var subnet = Manifests.ResolveComposeDefaults(Manifests.Compose.Map("networks").Map("default").Map("ipam").List("config").Maps().Single().Str("subnet")!);
        Assert.True(IPNetwork.Parse(subnet).Contains(IPAddress.Parse(proxyAddress)), $"{proxyAddress} is not in {subnet}");
        Assert.Contains("proxy_set_header X-Forwarded-Proto https;", Repo.Read("deploy/compose/nginx.conf"), StringComparison.Ordinal);

        // The migrations serve nothing and need no issuer files.
        Assert.False(Manifests.EnvironmentOf(services["server-migrate"]).ContainsKey("Auth__Mode"));

        // Compose v1 rejects a top-level name:; the project name is in .env.example instead.
        Assert.False(Manifests.Compose.ContainsKey("name"), "docker-compose 1.29 rejects the top-level name:");
        Assert.Contains("COMPOSE_PROJECT_NAME=trustserver", Repo.Read("deploy/compose/.env.example"), StringComparison.Ordinal);
    }

    [Fact]
    public void K8s_ServerDeployment_UsesTokenAuth_WithTheHashFromTheSecret_AndTheIssuerFilesMounted()
    {
        var server = Manifests.Containers.Single(c => c.Host == Host.Server && c.Owner.Kind == "Deployment");
        var env = Manifests.EnvironmentOf(server);
        AssertTokenAuthWithIssuer(env, server.ToString());
        Assert.False(string.IsNullOrEmpty(env["Server__ForwardedHeaders__KnownNetworks__0"]));

        var hash = server.Container.List("env").Maps().Single(e => e.Str("name") == "Auth__Issuer__Users__admin__PasswordHash");
        Assert.Equal("trustserver-server-auth", hash.Map("valueFrom").Map("secretKeyRef").Str("name"));
        var mount = server.Container.List("volumeMounts").Maps().Single(m => m.Str("mountPath") == "/auth");
        var volume = server.PodSpec.List("volumes").Maps().Single(v => v.Str("name") == mount.Str("name"));
        Assert.Equal("trustserver-server-auth", volume.Map("secret").Str("secretName"));
        var mounted = volume.Map("secret").List("items").Maps().Select(i => "/auth/" + i.Str("path")).ToList();
        foreach (var file in new[] { "Auth__Token__RootCertBundle", "Auth__Issuer__SigningKeyFile", "Auth__Issuer__CertificateFile" })
        {
            Assert.Contains(env[file], mounted);
        }

        // The migrate Job turns auth off explicitly (it serves nothing and does not mount the issuer's key).
        var migrate = Manifests.Containers.Single(c => c.Host == Host.Server && c.Owner.Kind == "Job");
        Assert.Equal("None", Manifests.EnvironmentOf(migrate)["Auth__Mode"]);
        Assert.Equal("false", Manifests.EnvironmentOf(migrate)["Auth__Issuer__Enabled"]);

        // The Secrets are generated (create-secrets.sh), not applied from the placeholder file.
        Assert.DoesNotContain("secrets.example.yaml", Yaml.Load("deploy/k8s/kustomization.yaml").List("resources").OfType<string>());
    }

    [Fact]
    public void ServerSample_UsesTokenAuth_AndSerilogLevels()
    {
        using var sample = JsonDocument.Parse(Repo.Read("deploy/config/server.appsettings.Production.json"));
        var root = sample.RootElement;
        Assert.Equal("Token", root.GetProperty("Auth").GetProperty("Mode").GetString());
        Assert.True(root.GetProperty("Auth").GetProperty("Issuer").GetProperty("Enabled").GetBoolean());
        Assert.Equal("SET-BY-ENVIRONMENT", root.GetProperty("Auth").GetProperty("Issuer").GetProperty("Users").GetProperty("admin").GetProperty("PasswordHash").GetString());
        Assert.False(root.TryGetProperty("Logging", out _), "the server logs through Serilog: Logging:LogLevel has no effect");
        Assert.Equal("Information", root.GetProperty("Serilog").GetProperty("MinimumLevel").GetProperty("Default").GetString());

        using var defaults = JsonDocument.Parse(Repo.Read("src/TrustServer.Server/appsettings.json"));
        Assert.False(defaults.RootElement.TryGetProperty("Logging", out _));
    }

    [Fact]
    public void Repository_CommitsNoPasswordHashOrPassword()
    {
        var files = Directory.GetFiles(Repo.PathOf("deploy"), "*", SearchOption.AllDirectories).Append(Repo.PathOf(Repo.ComposeFile));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);

            // ASP.NET Core Identity v3 hashes start with AQAAAA (format byte 1, then the PRF).
            Assert.DoesNotMatch(@"AQAAAA[A-Za-z0-9+/]{20,}", text);
            Assert.DoesNotMatch(@"(?i)password\s*[:=]\s*""?(?!\$\{|SET-BY-ENVIRONMENT|REPLACE-ME|change-me|:)[A-Za-z0-9+/_-]{12,}", text);
        }
    }

    [Fact]
    public void GenAuth_MakesAnIssuerCertificateChainingToItsCa_AndAnIdentityV3HashOfTheAdminPassword()
    {
        var first = RunScript("deploy/compose/gen-auth.sh", [_dir]);
        Assert.True(first.Code == 0, first.Error);
        string F(string name) => Path.Combine(_dir, name);

        var password = File.ReadAllText(F("admin-password")).Trim();
        Assert.True(password.Length >= 24, "admin password too short");
        AssertIdentityV3Hash(File.ReadAllText(F(HashFile)).Trim(), password);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(F("admin-password")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(F("token.key")));
        }

        Assert.Empty(Directory.GetFiles(_dir, "*ca.key", SearchOption.AllDirectories));
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(F("token-ca.crt")));
        using var leaf = X509Certificate2.CreateFromPemFile(F("token.crt"), F("token.key"));
        Assert.True(leaf.HasPrivateKey);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        // A second run keeps everything; NEW_ADMIN_PASSWORD=1 replaces only the password.
        var certificate = File.ReadAllText(F("token.crt"));
        Assert.Equal(0, RunScript("deploy/compose/gen-auth.sh", [_dir]).Code);
        Assert.Equal(password, File.ReadAllText(F("admin-password")).Trim());
        Assert.Equal(0, RunScript("deploy/compose/gen-auth.sh", [_dir], ("NEW_ADMIN_PASSWORD", "1")).Code);
        var second = File.ReadAllText(F("admin-password")).Trim();
        Assert.NotEqual(password, second);
        AssertIdentityV3Hash(File.ReadAllText(F(HashFile)).Trim(), second);
        Assert.Equal(certificate, File.ReadAllText(F("token.crt")));
    }

    [Fact]
    public void CreateSecrets_MakesEverySecretTheManifestsUse_WithEveryKey_AndKeepsValuesOnReRun()
    {
        var kubectl = RequireTool("kubectl");
        var state = Path.Combine(_dir, "state");
        var run = RunScript("deploy/k8s/create-secrets.sh", [state], ("POSTGRES_HOST", "db.example.internal"), ("DRY_RUN", "1"), ("KUBECTL", kubectl));
        Assert.True(run.Code == 0, run.Error);
        var secrets = ParseSecrets(run.Output);

        // Every Secret a workload references, with every key it reads.
        foreach (var container in Manifests.Containers)
        {
            foreach (var entry in container.Container.List("env").Maps().Select(e => e.Map("valueFrom").Map("secretKeyRef")).OfType<Dictionary<string, object?>>())
            {
                Assert.True(secrets.TryGetValue(entry.Str("name")!, out var data) && data.ContainsKey(entry.Str("key")!), $"{container}: {entry.Str("name")}/{entry.Str("key")} not created");
            }

            foreach (var source in container.Container.List("envFrom").Maps().Select(s => s.Map("secretRef")).OfType<Dictionary<string, object?>>())
            {
                Assert.True(secrets.ContainsKey(source.Str("name")!), $"{container}: Secret {source.Str("name")} not created");
            }

            foreach (var volume in container.PodSpec.List("volumes").Maps().Select(v => v.Map("secret")).OfType<Dictionary<string, object?>>())
            {
                var data = secrets[volume.Str("secretName")!];
                Assert.All(volume.List("items").Maps(), i => Assert.True(data.ContainsKey(i.Str("key")!), $"{volume.Str("secretName")}: {i.Str("key")}"));
            }
        }

        // Same names and keys as the documented templates.
        foreach (var template in Manifests.K8s.Where(o => o.Kind == "Secret"))
        {
            Assert.Equal(Manifests.DataOf(template).Keys.Order(StringComparer.Ordinal), secrets[template.Name].Keys.Order(StringComparer.Ordinal));
        }

        var password = File.ReadAllText(Path.Combine(state, "auth", "admin-password")).Trim();
        AssertIdentityV3Hash(secrets["trustserver-server-auth"]["admin-password-hash"], password);
        Assert.Contains("Host=db.example.internal;", secrets["trustserver-server-db"]["ConnectionStrings__Metadata"], StringComparison.Ordinal);

        // A re-run keeps every generated value (a new signer passphrase would lock the keys away).
        var again = ParseSecrets(RunScript("deploy/k8s/create-secrets.sh", [state], ("POSTGRES_HOST", "db.example.internal"), ("DRY_RUN", "1"), ("KUBECTL", kubectl)).Output);
        foreach (var (name, data) in secrets)
        {
            Assert.Equal(data, again[name]);
        }
    }

    [Fact]
    public void Compose_ValidatesWithDockerCompose129_AndComposeV2WhenInstalled()
    {
        var compose = RequireTool("docker-compose");
        var version = Run(compose, ["version", "--short"]);
        output.WriteLine("docker-compose " + version.Output.Trim());
        Assert.StartsWith("1.", version.Output.Trim(), StringComparison.Ordinal);

        var hsm = new (string, string)[] { ("PKCS11_MODULE", "/opt/pkcs11/libsofthsm2.so"), ("PKCS11_TOKEN_LABEL", "trustserver"), ("PKCS11_MODULE_DIR", _dir), ("PKCS11_PIN_FILE", Path.Combine(_dir, "pin")) };
        string[] baseArgs = ["--project-directory", Repo.Root, "--env-file", Repo.PathOf("deploy/compose/.env.example"), "-f", Repo.PathOf(Repo.ComposeFile)];
        var plain = Run(compose, [.. baseArgs, "config"]);
        Assert.True(plain.Code == 0, "docker-compose config: " + plain.Error);
        Assert.Contains("Auth__Mode: Token", plain.Output, StringComparison.Ordinal);
        var withHsm = Run(compose, [.. baseArgs, "-f", Repo.PathOf("deploy/compose/hsm.yml"), "config", "-q"], hsm);
        Assert.True(withHsm.Code == 0, "docker-compose config with hsm.yml: " + withHsm.Error);

        // Without .env the passwords are missing, and Compose says which.
        var missing = Run(compose, ["--project-directory", _dir, "-f", Repo.PathOf(Repo.ComposeFile), "config", "-q"]);
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("copy deploy/compose/.env.example to .env", missing.Error, StringComparison.Ordinal);

        if (FindTool("docker") is { } docker && Run(docker, ["compose", "version"]).Code == 0)
        {
            var v2 = Run(docker, ["compose", .. baseArgs, "config", "-q"]);
            Assert.True(v2.Code == 0, "docker compose config: " + v2.Error);
            output.WriteLine("docker compose v2: valid too");
        }
        else
        {
            output.WriteLine("docker compose v2 is not installed: checked with docker-compose 1.29 only");
        }
    }

    [Fact]
    public void Kustomize_RendersTheBaseTheHsmOverlayAndMonitoring_WithTokenAuth()
    {
        var kubectl = RequireTool("kubectl");
        foreach (var dir in new[] { "deploy/k8s", "deploy/k8s-hsm", "deploy/k8s/monitoring" })
        {
            var render = Run(kubectl, ["kustomize", Repo.PathOf(dir)]);
            Assert.True(render.Code == 0, $"kubectl kustomize {dir}: {render.Error}");
            if (dir != "deploy/k8s/monitoring")
            {
                Assert.Contains("Auth__Mode: Token", render.Output, StringComparison.Ordinal);
                Assert.Contains("secretName: trustserver-server-auth", render.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("kind: Secret", render.Output, StringComparison.Ordinal);
            }
        }
    }

    private static void AssertTokenAuthWithIssuer(IReadOnlyDictionary<string, string?> env, string where)
    {
        Assert.True(env.GetValueOrDefault("Auth__Mode") == "Token", $"{where}: Auth__Mode is not Token");
        Assert.True(env.GetValueOrDefault("Auth__Issuer__Enabled") == "true", $"{where}: the built-in issuer is off");
        Assert.Equal("/auth/token", env["Auth__Token__Realm"]);
        foreach (var key in new[] { "Auth__Token__Service", "Auth__Token__Issuer", "Auth__Token__RootCertBundle", "Auth__Issuer__SigningKeyFile", "Auth__Issuer__CertificateFile" })
        {
            Assert.False(string.IsNullOrEmpty(env.GetValueOrDefault(key)), $"{where}: {key}");
        }

        // The admin user: everything on every repository, and the catalog (admin API).
        Assert.Equal("*", env["Auth__Issuer__Users__admin__Grants__0__Pattern"]);
        Assert.Equal("*", env["Auth__Issuer__Users__admin__Grants__0__Actions"]);
        Assert.Equal("registry", env["Auth__Issuer__Users__admin__Grants__1__Type"]);
        Assert.Equal("catalog", env["Auth__Issuer__Users__admin__Grants__1__Pattern"]);
    }

    /// <summary>ASP.NET Core Identity's v3 format: 0x01, PRF, iterations, salt length (big-endian), salt, PBKDF2 subkey.</summary>
    private static void AssertIdentityV3Hash(string hash, string password)
    {
        var bytes = Convert.FromBase64String(hash);
        Assert.Equal(1, bytes[0]);
        Assert.Equal(2u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1))); // HMACSHA512
        var iterations = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5));
        Assert.Equal(100_000, iterations);
        var saltLength = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(9));
        Assert.Equal(16, saltLength);
        var salt = bytes.AsSpan(13, saltLength).ToArray();
        var subkey = bytes.AsSpan(13 + saltLength).ToArray();
        Assert.Equal(32, subkey.Length);
        Assert.Equal(subkey, Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA512, 32));
    }

    private static Dictionary<string, Dictionary<string, string>> ParseSecrets(string yaml)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var document in stream.Documents)
        {
            var root = (YamlDotNet.RepresentationModel.YamlMappingNode)document.RootNode;
            Assert.Equal("Secret", root["kind"].ToString());
            var name = ((YamlDotNet.RepresentationModel.YamlMappingNode)root["metadata"])["name"].ToString();
            var data = ((YamlDotNet.RepresentationModel.YamlMappingNode)root["data"]).Children
                .ToDictionary(kv => kv.Key.ToString(), kv => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(kv.Value.ToString())), StringComparer.Ordinal);
            result.Add(name, data);
        }

        return result;
    }

    private static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Append("/usr/sbin").Append("/usr/local/bin")
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string RequireTool(string name) =>
        FindTool(name) ?? throw new InvalidOperationException(name == "kubectl"
            ? "kubectl not found: install kubectl (kustomize v5, e.g. kubectl 1.27 or later) to check deploy/k8s"
            : $"{name} not found: scripts/test.sh installs it (apt package docker-compose)");

    private (int Code, string Output, string Error) RunScript(string script, string[] args, params (string Name, string Value)[] env) =>
        Run("bash", [Repo.PathOf(script), .. args], env);

    private static (int Code, string Output, string Error) Run(string file, string[] args, params (string Name, string Value)[] env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in env)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 60 s");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
