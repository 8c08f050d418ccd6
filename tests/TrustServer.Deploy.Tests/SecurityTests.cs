using System.Text.RegularExpressions;
using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>Non-root images, hardened pods and compose services, probes, replicas and resources.</summary>
public sealed partial class SecurityTests
{
    [Theory]
    [InlineData("deploy/docker/server.Dockerfile")]
    [InlineData("deploy/docker/signer.Dockerfile")]
    public void HostDockerfile_FinalStageRunsAsNonRoot_WithAHealthcheck(string dockerfile)
    {
        var text = Repo.Read(dockerfile);
        var finalStage = text[FromLine().Matches(text)[^1].Index..];
        var users = UserLine().Matches(finalStage).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(users);
        Assert.DoesNotContain(users[^1], new[] { "root", "0", "0:0", "root:root" });
        Assert.True(finalStage.IndexOf("USER ", StringComparison.Ordinal) < finalStage.IndexOf("ENTRYPOINT", StringComparison.Ordinal), "USER must come before ENTRYPOINT");
        Assert.Contains("HEALTHCHECK", finalStage, StringComparison.Ordinal);
        Assert.Contains("EXPOSE", finalStage, StringComparison.Ordinal);
    }

    [Fact]
    public void K8s_PodsRunAsNonRoot_WithReadOnlyRootFilesystemAndNoCapabilities()
    {
        foreach (var (owner, podSpec) in Manifests.PodSpecs)
        {
            var pod = podSpec.Map("securityContext");
            Assert.True(pod.Str("runAsNonRoot") == "true", $"{owner}: pod securityContext.runAsNonRoot");
            Assert.NotEqual("0", pod.Str("runAsUser"));
            Assert.Equal("RuntimeDefault", pod.Map("seccompProfile").Str("type"));
            Assert.Equal("false", podSpec.Str("automountServiceAccountToken"));
        }

        foreach (var container in Manifests.Containers)
        {
            var security = container.Container.Map("securityContext");
            Assert.True(security.Str("readOnlyRootFilesystem") == "true", $"{container}: readOnlyRootFilesystem");
            Assert.True(security.Str("allowPrivilegeEscalation") == "false", $"{container}: allowPrivilegeEscalation");
            Assert.True(security.Str("runAsNonRoot") == "true", $"{container}: runAsNonRoot");
            Assert.Equal(["ALL"], security.Map("capabilities").List("drop").OfType<string>());

            // The only writable place is /tmp (an emptyDir).
            var tmp = container.Container.List("volumeMounts").Maps().SingleOrDefault(m => m.Str("mountPath") == "/tmp");
            Assert.True(tmp is not null, $"{container}: no /tmp volume");
            Assert.NotNull(container.PodSpec.List("volumes").Maps().Single(v => v.Str("name") == tmp.Str("name")).Map("emptyDir"));
            Assert.All(container.Container.List("volumeMounts").Maps().Where(m => m.Str("mountPath") != "/tmp"), m => Assert.Equal("true", m.Str("readOnly")));

            foreach (var section in new[] { "requests", "limits" })
            {
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    Assert.False(string.IsNullOrEmpty(container.Container.Map("resources").Map(section).Str(resource)), $"{container}: resources.{section}.{resource}");
                }
            }
        }
    }

    [Fact]
    public void K8s_DeploymentsHaveTwoReplicasProbesAndAPdb_TheServerProbesHealthzAndIsScraped()
    {
        foreach (var deployment in Manifests.OfKind("Deployment"))
        {
            Assert.True(int.Parse(deployment.Root.Map("spec").Str("replicas")!, System.Globalization.CultureInfo.InvariantCulture) >= 2, $"{deployment}: replicas");
            Assert.Single(Manifests.OfKind("PodDisruptionBudget"), p => PortTests.Selects(p.Root.Map("spec").Map("selector")!, deployment));
        }

        var server = Manifests.Containers.Single(c => c.Host == Host.Server && c.Owner.Kind == "Deployment");
        Assert.Equal("/healthz/live", server.Container.Map("livenessProbe").Map("httpGet").Str("path"));
        Assert.Equal("/healthz/ready", server.Container.Map("readinessProbe").Map("httpGet").Str("path"));
        var annotations = server.Owner.Root.Map("spec").Map("template").Map("metadata").Map("annotations")!;
        Assert.Equal("true", annotations.Str("prometheus.io/scrape"));
        Assert.Equal("/metrics", annotations.Str("prometheus.io/path"));

        var signer = Manifests.Containers.Single(c => c.Host == Host.Signer && c.Owner.Kind == "Deployment");
        Assert.NotNull(signer.Container.Map("livenessProbe"));
        Assert.NotNull(signer.Container.Map("readinessProbe"));
    }

    [Fact]
    public void Compose_OurServicesAreReadOnly_WithoutCapabilities()
    {
        var ours = Manifests.ComposeServices.Where(s => Manifests.HostOfImage(s.Service.Str("image") ?? string.Empty) is not null).ToList();
        Assert.Equal(4, ours.Count); // server, signer and their migrations
        foreach (var (name, service) in ours)
        {
            Assert.True(service.Str("read_only") == "true", $"compose service {name}: read_only");
            Assert.Contains("/tmp", service.List("tmpfs").OfType<string>());
            Assert.Equal(["ALL"], service.List("cap_drop").OfType<string>());
            Assert.Null(service.Str("user")); // the image's non-root user
            Assert.Null(service.Str("privileged"));
        }
    }

    [Fact]
    public void Repository_CommitsNoPrivateKeysOrCertificates()
    {
        var files = Directory.GetFiles(Repo.PathOf("deploy"), "*", SearchOption.AllDirectories).Append(Repo.PathOf(Repo.ComposeFile));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.False(text.Contains("-----BEGIN", StringComparison.Ordinal) && !file.EndsWith(".sh", StringComparison.Ordinal), $"{file} contains PEM material");
            Assert.DoesNotMatch(@"\.(crt|key|pem|p12|pfx)$", file);
        }
    }

    [GeneratedRegex(@"^FROM\s", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^USER\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex UserLine();
}
