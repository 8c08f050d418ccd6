using System.Text.RegularExpressions;
using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>Every port in the deploy files is the one the code listens on (the hosts' DefaultUrl constants).</summary>
public sealed partial class PortTests
{
    /// <summary>The server's port: <c>TrustServerHost.DefaultUrl</c>.</summary>
    internal static int ServerPort => PortOfDefaultUrl("src/TrustServer.Server/TrustServerHost.cs");

    /// <summary>The signer's port: <c>SignerHost.DefaultUrl</c> (DESIGN.md §6's 7899 while the signer's source is not in this tree).</summary>
    internal static int SignerPort => ConfigKeys.SignerSourcePresent ? PortOfDefaultUrl("src/TrustServer.Signer/SignerHost.cs") : 7899;

    private static int PortOf(Host host) => host == Host.Server ? ServerPort : SignerPort;

    [Fact]
    public void DefaultPorts_AreReadFromTheSource()
    {
        Assert.Equal(4443, ServerPort);
        Assert.Equal(7899, SignerPort);
    }

    [Theory]
    [InlineData("deploy/docker/server.Dockerfile", Host.Server)]
    [InlineData("deploy/docker/signer.Dockerfile", Host.Signer)]
    public void Dockerfile_ExposesAndListensOnTheHostsPort(string dockerfile, Host host)
    {
        var text = Repo.Read(dockerfile);
        Assert.Equal([PortOf(host)], ExposeLine().Matches(text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
        var urls = Regex.Match(text, @"^ENV\s+ASPNETCORE_URLS=(\S+)", RegexOptions.Multiline);
        Assert.True(urls.Success, $"{dockerfile}: no ENV ASPNETCORE_URLS");
        Assert.Equal(PortOf(host), UrlPort(urls.Groups[1].Value));
        Assert.StartsWith(host == Host.Signer ? "https://" : "http", urls.Groups[1].Value, StringComparison.Ordinal);
        Assert.Contains($"/dev/tcp/127.0.0.1/{PortOf(host)}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_ListenUrlsAndSignerUrlUseTheHostsPorts()
    {
        var signerServices = Manifests.ComposeServices
            .Where(s => Manifests.HostOfImage(s.Service.Str("image") ?? string.Empty) == Host.Signer && !IsOneShot(s.Service)).Select(s => s.Name).ToList();
        Assert.NotEmpty(signerServices);
        foreach (var (name, service) in Manifests.ComposeServices)
        {
            if (Manifests.HostOfImage(service.Str("image") ?? string.Empty) is not { } host)
            {
                continue;
            }

            var env = Manifests.EnvironmentOf(service);
            Assert.True(env.TryGetValue("ASPNETCORE_URLS", out var urls), $"compose service {name}: no ASPNETCORE_URLS");
            Assert.Equal(PortOf(host), UrlPort(urls!));
            if (env.TryGetValue("Signing__Remote__Url", out var remote))
            {
                var uri = new Uri(remote!);
                Assert.Equal("https", uri.Scheme);
                Assert.Equal(SignerPort, uri.Port);
                Assert.Contains(uri.Host, signerServices);
            }
        }

        // The proxy forwards to the server replicas' port.
        Assert.Contains($"server server:{ServerPort};", Repo.Read("deploy/compose/nginx.conf"), StringComparison.Ordinal);
    }

    [Fact]
    public void K8s_ContainerPortsProbesServicesAndPoliciesUseTheHostsPorts()
    {
        foreach (var container in Manifests.Containers.Where(c => c.Host is not null))
        {
            var port = PortOf(container.Host!.Value);
            Assert.Equal(port, UrlPort(Manifests.EnvironmentOf(container)["ASPNETCORE_URLS"]!));
            if (container.IsInit || container.Owner.Kind == "Job")
            {
                continue;
            }

            Assert.Equal([port.ToString(System.Globalization.CultureInfo.InvariantCulture)], container.Container.List("ports").Maps().Select(p => p.Str("containerPort")));
            foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
            {
                var spec = container.Container.Map(probe);
                Assert.NotNull(spec);
                var probePort = spec.Map("httpGet").Str("port") ?? spec.Map("tcpSocket").Str("port") ?? spec.Map("grpc").Str("port");
                Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), probePort);
            }
        }

        foreach (var service in Manifests.OfKind("Service"))
        {
            var target = Manifests.OfKind("Deployment").Single(d => Selects(service.Root.Map("spec").Map("selector")!, d));
            var host = Manifests.Containers.Single(c => c.Owner == target && !c.IsInit).Host!.Value;
            Assert.All(service.Root.Map("spec").List("ports").Maps(), p => Assert.Equal(PortOf(host).ToString(System.Globalization.CultureInfo.InvariantCulture), p.Str("targetPort")));
        }

        // The server reaches the signer through its Service, on the signer's port, with TLS.
        var serverEnv = Manifests.EnvironmentOf(Manifests.Containers.First(c => c.Host == Host.Server && c.Owner.Kind == "Deployment"));
        var signerUrl = new Uri(serverEnv["Signing__Remote__Url"]!);
        Assert.Equal("https", signerUrl.Scheme);
        var signerService = Manifests.Single("Service", signerUrl.Host);
        Assert.Contains(signerService.Root.Map("spec").List("ports").Maps(), p => p.Str("port") == signerUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        foreach (var policy in Manifests.OfKind("NetworkPolicy"))
        {
            foreach (var rule in policy.Root.Map("spec").List("ingress").Maps())
            {
                Assert.All(rule.List("ports").Maps(), p => Assert.Equal(SignerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Str("port")));
            }
        }

        var server = Manifests.Single("Deployment", "trustserver-server");
        Assert.Equal(ServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), server.Root.Map("spec").Map("template").Map("metadata").Map("annotations").Str("prometheus.io/port"));
    }

    internal static bool IsOneShot(Dictionary<string, object?> service) => service.List("command").FirstOrDefault() is "migrate" or "reencrypt";

    internal static bool Selects(Dictionary<string, object?> selector, K8sObject workload)
    {
        var labels = workload.Root.Map("spec").Map("template").Map("metadata").Map("labels") ?? [];
        var matchLabels = selector.Map("matchLabels") ?? selector;
        return matchLabels.Count > 0 && matchLabels.All(kv => labels.TryGetValue(kv.Key, out var v) && Equals(v, kv.Value));
    }

    private static int PortOfDefaultUrl(string file)
    {
        var match = DefaultUrl().Match(Repo.Read(file));
        Assert.True(match.Success, $"{file}: no DefaultUrl constant");
        return new Uri(match.Groups[1].Value).Port;
    }

    // ASP.NET Core URLs may use + or * as the host, which Uri does not parse.
    private static int UrlPort(string urls) =>
        new Uri(Regex.Replace(urls.Split(';')[0], @"//[+*]", "//0.0.0.0")).Port;

    [GeneratedRegex(@"DefaultUrl\s*=\s*""([^""]+)""")]
    private static partial Regex DefaultUrl();

    [GeneratedRegex(@"^EXPOSE\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex ExposeLine();
}
