using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>Every Secret, ConfigMap, key, file and workload referenced in the manifests exists.</summary>
public sealed class ReferenceTests
{
    [Fact]
    public void EverySecretAndConfigMapReferencedByAWorkloadExists_WithTheReferencedKeys()
    {
        var references = 0;
        foreach (var container in Manifests.Containers)
        {
            foreach (var source in container.Container.List("envFrom").Maps())
            {
                if (source.Map("configMapRef").Str("name") is { } configMap)
                {
                    AssertExists("ConfigMap", configMap, container.ToString());
                    references++;
                }

                if (source.Map("secretRef").Str("name") is { } secret)
                {
                    AssertExists("Secret", secret, container.ToString());
                    references++;
                }
            }

            foreach (var entry in container.Container.List("env").Maps())
            {
                foreach (var (kind, refName) in new[] { ("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef") })
                {
                    if (entry.Map("valueFrom").Map(refName) is { } keyRef)
                    {
                        var target = AssertExists(kind, keyRef.Str("name")!, container.ToString());
                        Assert.True(Manifests.DataOf(target).ContainsKey(keyRef.Str("key")!), $"{container}: {target} has no key {keyRef.Str("key")}");
                        references++;
                    }
                }
            }
        }

        foreach (var (owner, podSpec) in Manifests.PodSpecs)
        {
            foreach (var volume in podSpec.List("volumes").Maps())
            {
                var (kind, name, items) = volume.Map("secret") is { } secret ? ("Secret", secret.Str("secretName"), secret.List("items"))
                    : volume.Map("configMap") is { } configMap ? ("ConfigMap", configMap.Str("name"), configMap.List("items"))
                    : (null, null, []);
                if (kind is null)
                {
                    continue;
                }

                var target = AssertExists(kind, name!, owner.ToString());
                Assert.All(items.Maps(), item => Assert.True(Manifests.DataOf(target).ContainsKey(item.Str("key")!), $"{owner}: volume {volume.Str("name")}: {target} has no key {item.Str("key")}"));
                references++;
            }

            // Every mount names a volume of the pod.
            var volumes = podSpec.List("volumes").Maps().Select(v => v.Str("name")).ToHashSet();
            foreach (var container in podSpec.List("containers").Concat(podSpec.List("initContainers")).Maps())
            {
                Assert.All(container.List("volumeMounts").Maps(), m => Assert.Contains(m.Str("name"), volumes));
            }
        }

        Assert.True(references >= 10, $"only {references} references found");
    }

    [Fact]
    public void TlsFilesConfiguredForOurHosts_AreMountedFromSecretsThatHoldThem()
    {
        foreach (var container in Manifests.Containers.Where(c => !c.IsInit && c.Owner.Kind == "Deployment"))
        {
            var files = Manifests.EnvironmentOf(container)
                .Where(kv => kv.Key.EndsWith("File", StringComparison.Ordinal) && kv.Value is not null)
                .Select(kv => kv.Value!).ToList();
            Assert.NotEmpty(files);
            foreach (var file in files)
            {
                var mount = container.Container.List("volumeMounts").Maps().SingleOrDefault(m => file.StartsWith(m.Str("mountPath")! + "/", StringComparison.Ordinal));
                Assert.True(mount is not null, $"{container}: {file} is not under a volume mount");
                var volume = container.PodSpec.List("volumes").Maps().Single(v => v.Str("name") == mount.Str("name"));
                var secret = Manifests.Single("Secret", volume.Map("secret").Str("secretName")!);
                var relative = file[(mount.Str("mountPath")!.Length + 1)..];
                var items = volume.Map("secret").List("items").Maps().ToList();
                var key = items.Count == 0 ? relative : items.Single(i => i.Str("path") == relative).Str("key");
                Assert.True(Manifests.DataOf(secret).ContainsKey(key!), $"{container}: {file} → {secret} has no key {key}");
            }
        }
    }

    [Fact]
    public void ServicesPdbsHpaAndNetworkPolicy_TargetExistingWorkloads()
    {
        var deployments = Manifests.OfKind("Deployment").ToList();
        foreach (var o in Manifests.OfKind("Service").Concat(Manifests.OfKind("PodDisruptionBudget")))
        {
            Assert.Single(deployments, d => PortTests.Selects(o.Root.Map("spec").Map("selector")!, d));
        }

        var hpa = Assert.Single(Manifests.OfKind("HorizontalPodAutoscaler"));
        var target = hpa.Root.Map("spec").Map("scaleTargetRef")!;
        Assert.Equal("Deployment", target.Str("kind"));
        var scaled = Manifests.Single("Deployment", target.Str("name")!);
        Assert.Equal(Host.Server, Manifests.Containers.Single(c => c.Owner == scaled).Host);
        Assert.True(int.Parse(hpa.Root.Map("spec").Str("minReplicas")!, System.Globalization.CultureInfo.InvariantCulture) >= 2);

        var signer = deployments.Single(d => Manifests.Containers.Single(c => c.Owner == d).Host == Host.Signer);
        var server = deployments.Single(d => Manifests.Containers.Single(c => c.Owner == d).Host == Host.Server);
        var policy = Assert.Single(Manifests.OfKind("NetworkPolicy"));
        var spec = policy.Root.Map("spec")!;
        Assert.True(PortTests.Selects(spec.Map("podSelector")!, signer), "the NetworkPolicy does not select the signer pods");
        Assert.Contains("Ingress", spec.List("policyTypes").OfType<string>());
        var sources = spec.List("ingress").Maps().SelectMany(r => r.List("from").Maps()).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, from =>
        {
            Assert.Equal(["podSelector"], from.Keys); // no namespaceSelector / ipBlock: pods of this namespace only
            Assert.True(PortTests.Selects(from.Map("podSelector")!, server), "an ingress source that is not the server pods");
            Assert.False(PortTests.Selects(from.Map("podSelector")!, signer));
        });
    }

    [Fact]
    public void Secrets_AreClearlyMarkedPlaceholderTemplates()
    {
        var secrets = Manifests.OfKind("Secret").ToList();
        Assert.NotEmpty(secrets);
        foreach (var secret in secrets)
        {
            Assert.EndsWith(".example.yaml", secret.File, StringComparison.Ordinal);
            Assert.Null(secret.Root.Map("data")); // no base64 blobs that could hide a real value
            Assert.All(Manifests.DataOf(secret), kv => Assert.Contains("REPLACE-ME", kv.Value, StringComparison.Ordinal));
        }

        Assert.Contains("PLACEHOLDER", Repo.Read("deploy/k8s/secrets.example.yaml"), StringComparison.Ordinal);
        Assert.DoesNotContain("-----BEGIN", string.Concat(Repo.K8sManifests.Select(Repo.Read)), StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_CertificateFilesAreTheOnesGenCertsWrites_AndMountedWhereUsed()
    {
        var produced = new[] { "ca.crt", "signer.crt", "signer.key", "server-client.crt", "server-client.key", "server.crt", "server.key" };
        foreach (var (name, service) in Manifests.ComposeServices)
        {
            foreach (var (key, value) in Manifests.EnvironmentOf(service))
            {
                if (value is not null && value.StartsWith("/certs/", StringComparison.Ordinal))
                {
                    Assert.Contains(value["/certs/".Length..], produced);
                    if (!PortTests.IsOneShot(service))
                    {
                        Assert.Contains("certs:/certs:ro", service.List("volumes").OfType<string>());
                        Assert.Equal("service_completed_successfully", service.Map("depends_on").Map("certs").Str("condition"));
                    }
                }
            }
        }

        var nginx = Repo.Read("deploy/compose/nginx.conf");
        Assert.Contains("/certs/server.crt;", nginx, StringComparison.Ordinal);
        Assert.Contains("/certs/server.key;", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_MigrationsRunBeforeTheHosts_AndTheServerRunsTwoReplicas()
    {
        var services = Manifests.ComposeServices.ToDictionary(s => s.Name, s => s.Service);
        foreach (var (name, service) in services)
        {
            var host = Manifests.HostOfImage(service.Str("image") ?? string.Empty);
            if (host is null || PortTests.IsOneShot(service))
            {
                continue;
            }

            Assert.Equal("false", Manifests.EnvironmentOf(service)["Storage__MigrateOnStartup"]);
            var migrations = services.Where(s => PortTests.IsOneShot(s.Value) && Manifests.HostOfImage(s.Value.Str("image")!) == host).Select(s => s.Key).Single();
            Assert.Equal("service_completed_successfully", service.Map("depends_on").Map(migrations).Str("condition"));
            Assert.Equal("service_healthy", services[migrations].Map("depends_on").Map("postgres").Str("condition"));
        }

        Assert.Equal("2", services["server"].Map("deploy").Str("replicas"));
        Assert.Equal("service_healthy", services["server"].Map("depends_on").Map("signer").Str("condition"));
        Assert.Single(services.Values, s => s.List("ports").Count > 0); // one published port: the proxy
        Assert.Contains("./deploy/compose/postgres-init.sh:/docker-entrypoint-initdb.d/10-trustserver.sh:ro", services["postgres"].List("volumes").OfType<string>());
    }

    private static K8sObject AssertExists(string kind, string name, string referrer)
    {
        var found = Manifests.K8s.SingleOrDefault(o => o.Kind == kind && o.Name == name);
        Assert.True(found is not null, $"{referrer} references {kind}/{name}, which no manifest defines");
        return found!;
    }
}
