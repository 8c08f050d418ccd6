using System.Text.Json;
using TrustServer.Deploy.Tests.Support;
using Xunit.Abstractions;

namespace TrustServer.Deploy.Tests;

/// <summary>Every environment variable and configuration key in compose, Kubernetes and the sample configs exists in the code.</summary>
public sealed class ConfigKeyTests(ITestOutputHelper output)
{
    private static readonly Lazy<ConfigKeys> ServerKeys = new(() => ConfigKeys.For(Host.Server));
    private static readonly Lazy<ConfigKeys> SignerKeys = new(() => ConfigKeys.For(Host.Signer));

    private static ConfigKeys KeysOf(Host host) => host == Host.Server ? ServerKeys.Value : SignerKeys.Value;

    [Fact]
    public void Catalog_FindsTheDocumentedKeysInTheSource()
    {
        output.WriteLine("server: " + string.Join(", ", ServerKeys.Value.Keys.Order(StringComparer.Ordinal)));
        output.WriteLine("signer: " + string.Join(", ", SignerKeys.Value.Keys.Order(StringComparer.Ordinal))
            + (ConfigKeys.SignerSourcePresent ? string.Empty : "  (signer source missing: DESIGN.md contract)"));

        // A sanity check of the scanner itself (DESIGN.md §6): if these are not found, the scan is broken, not the files.
        foreach (var key in new[] { "Storage:Provider", "Storage:MigrateOnStartup", "ConnectionStrings:Metadata", "Signing:Mode", "Signing:KeyAlgorithm", "Signing:Remote:Url", "Signing:Remote:CaFile", "Signing:Remote:ClientCertFile", "Signing:Remote:ClientKeyFile", "Caching:MaxAge:CurrentMetadata", "Repositories:GunPrefixes:0", "Limits:MaxUploadBytes" })
        {
            Assert.True(ServerKeys.Value.Knows(key), $"server: {key} not found by the scanner");
        }

        foreach (var key in new[] { "Tls:CertFile", "Tls:KeyFile", "Tls:ClientCaFile", "Storage:Provider", "ConnectionStrings:Keys", "Keys:DefaultAlias", "NOTARY_SIGNER_TIMESTAMP_1" })
        {
            Assert.True(SignerKeys.Value.Knows(key), $"signer: {key} not found by the scanner");
        }

        // Entries of dictionaries/lists of classes, the forwarded-headers and settings-directory keys, log levels.
        Assert.True(ServerKeys.Value.Knows("Auth:Issuer:Users:admin:Grants:1:Pattern"));
        Assert.True(ServerKeys.Value.Knows("Auth__Issuer__Users__alice__PasswordHash"));
        Assert.False(ServerKeys.Value.Knows("Auth:Issuer:Users:admin:Grants:1:Nope"));
        Assert.False(ServerKeys.Value.Knows("Auth:Issuer:Users:admin:Grants:x:Pattern"));
        Assert.True(ServerKeys.Value.Knows("Server:ForwardedHeaders:KnownProxies:0"));
        Assert.True(ServerKeys.Value.Knows("Server:ForwardedHeaders:KnownNetworks:0"));
        Assert.True(ServerKeys.Value.Knows("Server:SettingsDirectory"));
        Assert.True(ServerKeys.Value.Knows("Serilog:MinimumLevel:Override:Microsoft.AspNetCore"));
        Assert.False(ServerKeys.Value.Knows("Logging:LogLevel:Default"));
        Assert.True(SignerKeys.Value.Knows("Logging:LogLevel:Default"));
        Assert.False(ServerKeys.Value.Knows("Signing:Remote:NoSuchKey"));
        Assert.False(ServerKeys.Value.Knows("Tls:CertFile"));
        Assert.False(SignerKeys.Value.Knows("Signing:Mode"));
        Assert.False(SignerKeys.Value.Knows("Signing__Remote__Url"));
        Assert.False(SignerKeys.Value.Knows("Kestrel__Certificates__Default__Path"));
        Assert.False(ServerKeys.Value.Knows("Keys__DefaultAlias"));
        Assert.False(SignerKeys.Value.Knows("ASPNETCORE_NOPE"));
    }

    [Fact]
    public void Compose_EveryVariableOfOurServicesIsAKeyOfThatHost()
    {
        var checkedAny = false;
        foreach (var (name, service) in Manifests.ComposeServices)
        {
            if (Manifests.HostOfImage(service.Str("image") ?? string.Empty) is not { } host)
            {
                continue;
            }

            foreach (var variable in Manifests.EnvironmentOf(service).Keys)
            {
                Assert.True(KeysOf(host).Knows(variable), $"compose service {name} ({host}): {variable} is not a configuration key of the {host}");
                checkedAny = true;
            }
        }

        Assert.True(checkedAny);
    }

    [Fact]
    public void K8s_EveryVariableOfOurContainersIsAKeyOfThatHost()
    {
        foreach (var container in Manifests.Containers)
        {
            Assert.NotNull(container.Host);
            foreach (var variable in Manifests.EnvironmentOf(container).Keys)
            {
                Assert.True(KeysOf(container.Host!.Value).Knows(variable), $"{container} ({container.Host}): {variable} is not a configuration key of the {container.Host}");
            }
        }
    }

    [Fact]
    public void K8s_EveryConfigMapAndSecretKeyImportedAsEnvironmentIsAKeyOfItsConsumers()
    {
        foreach (var container in Manifests.Containers)
        {
            foreach (var source in container.Container.List("envFrom").Maps())
            {
                var name = source.Map("configMapRef").Str("name") ?? source.Map("secretRef").Str("name");
                var referenced = Manifests.K8s.Single(o => o.Kind is "ConfigMap" or "Secret" && o.Name == name);
                Assert.All(Manifests.DataOf(referenced).Keys, key => Assert.True(KeysOf(container.Host!.Value).Knows(key), $"{referenced}: {key} (imported by {container})"));
            }
        }
    }

    [Fact]
    public void HsmOverlays_EveryVariableIsASignerKey_AndThePinIsAFile()
    {
        var compose = Yaml.Load("deploy/compose/hsm.yml").Map("services").Map("signer")!;
        var composeEnvironment = Manifests.EnvironmentOf(compose);
        var patch = Yaml.LoadAll("deploy/k8s-hsm/signer-pkcs11.yaml").Single();
        var container = patch.Map("spec").Map("template").Map("spec").List("containers").Maps().Single();
        var k8sEnvironment = container.List("env").Maps().ToDictionary(e => e.Str("name")!, e => e.Str("value"));
        foreach (var environment in new[] { composeEnvironment, k8sEnvironment })
        {
            Assert.Equal("Pkcs11", environment["Keys__Backend"]);
            Assert.All(environment.Keys, key => Assert.True(SignerKeys.Value.Knows(key), $"{key} is not a configuration key of the signer"));
            Assert.StartsWith("/run/secrets/", environment["Keys__Pkcs11__PinFile"], StringComparison.Ordinal);
        }

        Assert.True(SignerKeys.Value.Knows("Keys:Pkcs11:SlotId"));
        Assert.False(ServerKeys.Value.Knows("Keys:DefaultAlias"));
        Assert.True(ServerKeys.Value.Knows("Keys:Pkcs11:Library"));
    }

    [Theory]
    [InlineData("deploy/docker/server.Dockerfile", Host.Server)]
    [InlineData("deploy/docker/signer.Dockerfile", Host.Signer)]
    public void Dockerfile_EveryEnvIsAKeyOfTheHost(string dockerfile, Host host)
    {
        var variables = System.Text.RegularExpressions.Regex.Matches(Repo.Read(dockerfile), @"^ENV\s+(\w+)=", System.Text.RegularExpressions.RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(variables);
        Assert.All(variables, v => Assert.True(KeysOf(host).Knows(v), $"{dockerfile}: ENV {v}"));
    }

    [Theory]
    [InlineData("deploy/config/server.appsettings.Production.json", Host.Server)]
    [InlineData("deploy/config/signer.appsettings.Production.json", Host.Signer)]
    public void SampleConfig_EveryKeyIsAKeyOfTheHost(string file, Host host)
    {
        using var document = JsonDocument.Parse(Repo.Read(file));
        var keys = Flatten(document.RootElement, string.Empty).ToList();
        Assert.NotEmpty(keys);
        Assert.All(keys, key => Assert.True(KeysOf(host).Knows(key), $"{file}: {key} is not a configuration key of the {host}"));
    }

    [Fact]
    public void SignerDefaultAlias_HasItsPassphraseVariable_InComposeAndK8s()
    {
        // Compose: Keys__DefaultAlias defaults to an alias whose NOTARY_SIGNER_<ALIAS> is set.
        foreach (var (name, service) in Manifests.ComposeServices.Where(s => Manifests.HostOfImage(s.Service.Str("image") ?? string.Empty) == Host.Signer))
        {
            var env = Manifests.EnvironmentOf(service);
            var alias = Manifests.ResolveComposeDefaults(env["Keys__DefaultAlias"]!);
            Assert.True(env.ContainsKey(PassphraseVariable(alias)), $"compose service {name}: no {PassphraseVariable(alias)} for the default alias {alias}");
        }

        // .env.example sets the same default alias.
        var example = Repo.Read("deploy/compose/.env.example");
        Assert.Contains("SIGNER_DEFAULT_ALIAS=passphrase_1", example, StringComparison.Ordinal);

        foreach (var container in Manifests.Containers.Where(c => c.Host == Host.Signer))
        {
            var env = Manifests.EnvironmentOf(container);
            var alias = env["Keys__DefaultAlias"]!;
            Assert.True(env.ContainsKey(PassphraseVariable(alias)), $"{container}: no {PassphraseVariable(alias)} for the default alias {alias}");
        }
    }

    [Fact]
    public void Compose_EveryInterpolatedVariableIsInTheEnvExample()
    {
        var example = Repo.Read("deploy/compose/.env.example").Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).ToHashSet(StringComparer.Ordinal);
        var used = System.Text.RegularExpressions.Regex.Matches(Repo.Read(Repo.ComposeFile), @"\$\{(\w+)").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(used);
        Assert.All(used, v => Assert.True(example.Contains(v), $"docker-compose.yml uses ${{{v}}}, which deploy/compose/.env.example does not set"));
        Assert.Contains(".env", Repo.Read(".gitignore").Split('\n').Select(l => l.Trim()));
        Assert.False(File.Exists(Repo.PathOf(".env")) && IsTracked(".env"), ".env must not be committed");
    }

    // notary-signer's convention (EnvironmentPassphraseSource.VariableName).
    private static string PassphraseVariable(string alias) => "NOTARY_SIGNER_" + alias.ToUpperInvariant().Replace('.', '_');

    private static bool IsTracked(string file)
    {
        using var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["-C", Repo.Root, "ls-files", "--error-unmatch", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        git.WaitForExit();
        return git.ExitCode == 0;
    }

    private static IEnumerable<string> Flatten(JsonElement element, string prefix)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var key in Flatten(property.Value, prefix.Length == 0 ? property.Name : prefix + ":" + property.Name))
                    {
                        yield return key;
                    }
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var key in Flatten(item, $"{prefix}:{index++}"))
                    {
                        yield return key;
                    }
                }

                break;
            default:
                yield return prefix;
                break;
        }
    }
}
