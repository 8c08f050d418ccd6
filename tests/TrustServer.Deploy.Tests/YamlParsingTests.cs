using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>docker-compose.yml and every Kubernetes manifest parse and have the expected shape.</summary>
public sealed class YamlParsingTests
{
    public static TheoryData<string> K8sFiles() => new(Repo.K8sManifests.Append("deploy/k8s/kustomization.yaml"));

    [Fact]
    public void Compose_Parses_WithServicesAndVolumes()
    {
        var compose = Yaml.Load(Repo.ComposeFile);
        Assert.NotEmpty(compose.Map("services")!);
        Assert.NotNull(compose.Map("volumes"));
    }

    [Theory]
    [MemberData(nameof(K8sFiles))]
    public void K8sFile_Parses_EveryDocumentHasApiVersionKindAndName(string file)
    {
        var documents = Yaml.LoadAll(file);
        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            Assert.False(string.IsNullOrEmpty(document.Str("apiVersion")), $"{file}: a document without apiVersion");
            Assert.False(string.IsNullOrEmpty(document.Str("kind")), $"{file}: a document without kind");
            if (document.Str("kind") != "Kustomization")
            {
                Assert.False(string.IsNullOrEmpty(document.Map("metadata").Str("name")), $"{file}: a {document.Str("kind")} without metadata.name");
            }
        }
    }

    [Fact]
    public void Kustomization_ListsExactlyTheManifestFiles()
    {
        var kustomization = Yaml.Load("deploy/k8s/kustomization.yaml");
        var listed = kustomization.List("resources").OfType<string>().Select(r => "deploy/k8s/" + r).Order(StringComparer.Ordinal).ToList();

        // The Secrets' placeholder templates are documentation: deploy/k8s/create-secrets.sh creates the real ones.
        Assert.Equal(Repo.K8sManifests.Where(f => f != "deploy/k8s/secrets.example.yaml"), listed);
    }

    [Fact]
    public void K8s_ObjectNamesAreUniquePerKind()
    {
        var duplicates = Manifests.K8s.GroupBy(o => (o.Kind, o.Name)).Where(g => g.Count() > 1).Select(g => g.Key.ToString()).ToList();
        Assert.Empty(duplicates);
    }

    [Fact]
    public void K8s_HasTheRequiredObjects()
    {
        var kinds = Manifests.K8s.Select(o => o.Kind).ToHashSet();
        foreach (var kind in new[] { "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Secret", "ConfigMap", "Job" })
        {
            Assert.Contains(kind, kinds);
        }

        Assert.Contains(Manifests.Containers, c => c.Host == Host.Server && c.Owner.Kind == "Deployment");
        Assert.Contains(Manifests.Containers, c => c.Host == Host.Signer && c.Owner.Kind == "Deployment");
        var migrations = Manifests.Containers.Where(c => c.Owner.Kind == "Job").ToList();
        Assert.Contains(migrations, c => c.Host == Host.Server && c.Container.List("args").FirstOrDefault() as string == "migrate");
        Assert.Contains(migrations, c => c.Host == Host.Signer && c.Container.List("args").FirstOrDefault() as string == "migrate");
    }

    [Fact]
    public void SampleConfigs_AreJson()
    {
        foreach (var file in Directory.GetFiles(Repo.PathOf("deploy/config"), "*.json"))
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(System.Text.Json.JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }
}
