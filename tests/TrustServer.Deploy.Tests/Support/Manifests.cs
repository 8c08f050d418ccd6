namespace TrustServer.Deploy.Tests.Support;

/// <summary>A Kubernetes object from one of the manifests.</summary>
internal sealed record K8sObject(string File, Dictionary<string, object?> Root)
{
    public string Kind => Root.Str("kind") ?? string.Empty;

    public string Name => Root.Map("metadata").Str("name") ?? string.Empty;

    public override string ToString() => $"{Kind}/{Name} ({File})";
}

/// <summary>A container of a pod template, with the workload it belongs to.</summary>
internal sealed record K8sContainer(K8sObject Owner, Dictionary<string, object?> PodSpec, Dictionary<string, object?> Container, bool IsInit)
{
    public string Name => Container.Str("name") ?? string.Empty;

    public string Image => Container.Str("image") ?? string.Empty;

    /// <summary>Which of our hosts runs in it (by image repository), or null for anything else.</summary>
    public Host? Host => Manifests.HostOfImage(Image);

    public override string ToString() => $"{Owner}: container {Name}";
}

/// <summary>The Kubernetes manifests and docker-compose.yml, loaded once.</summary>
internal static class Manifests
{
    public const string ServerImage = "trustserver/server";
    public const string SignerImage = "trustserver/signer";

    private static readonly Lazy<IReadOnlyList<K8sObject>> Objects = new(() =>
        Repo.K8sManifests.SelectMany(f => Yaml.LoadAll(f).Select(d => new K8sObject(f, d))).ToList());

    private static readonly Lazy<Dictionary<string, object?>> ComposeRoot = new(() => Yaml.Load(Repo.ComposeFile));

    public static IReadOnlyList<K8sObject> K8s => Objects.Value;

    public static Dictionary<string, object?> Compose => ComposeRoot.Value;

    public static IEnumerable<(string Name, Dictionary<string, object?> Service)> ComposeServices =>
        (Compose.Map("services") ?? []).Select(kv => (kv.Key, (Dictionary<string, object?>)kv.Value!));

    public static Host? HostOfImage(string image)
    {
        var repository = ImageRepository(image);
        return repository.EndsWith(ServerImage, StringComparison.Ordinal) ? Host.Server
            : repository.EndsWith(SignerImage, StringComparison.Ordinal) ? Host.Signer
            : null;
    }

    /// <summary><c>registry/name:tag@digest</c> → <c>registry/name</c>.</summary>
    public static string ImageRepository(string image)
    {
        var withoutDigest = image.Split('@')[0];
        var lastSlash = withoutDigest.LastIndexOf('/');
        var colon = withoutDigest.LastIndexOf(':');
        return colon > lastSlash ? withoutDigest[..colon] : withoutDigest;
    }

    /// <summary>The tag of an image reference, or null.</summary>
    public static string? ImageTag(string image)
    {
        var withoutDigest = image.Split('@')[0];
        var lastSlash = withoutDigest.LastIndexOf('/');
        var colon = withoutDigest.LastIndexOf(':');
        return colon > lastSlash ? withoutDigest[(colon + 1)..] : null;
    }

    /// <summary>A public image pinned to a version: a digest, or a tag other than <c>latest</c> that contains a version number.</summary>
    public static bool IsPinned(string image) =>
        image.Contains("@sha256:", StringComparison.Ordinal)
        || (ImageTag(image) is { } tag && tag != "latest" && tag.Any(char.IsAsciiDigit));

    public static IEnumerable<K8sObject> OfKind(string kind) => K8s.Where(o => o.Kind == kind);

    public static K8sObject Single(string kind, string name) =>
        K8s.Single(o => o.Kind == kind && o.Name == name);

    /// <summary>Pod specs of workloads (Deployment, StatefulSet, DaemonSet, Job: spec.template.spec).</summary>
    public static IEnumerable<(K8sObject Owner, Dictionary<string, object?> PodSpec)> PodSpecs =>
        K8s.Where(o => o.Kind is "Deployment" or "StatefulSet" or "DaemonSet" or "Job")
            .Select(o => (o, o.Root.Map("spec").Map("template").Map("spec") ?? throw new InvalidOperationException($"{o}: no pod template")));

    public static IEnumerable<K8sContainer> Containers =>
        PodSpecs.SelectMany(p =>
            p.PodSpec.List("initContainers").Maps().Select(c => new K8sContainer(p.Owner, p.PodSpec, c, true))
                .Concat(p.PodSpec.List("containers").Maps().Select(c => new K8sContainer(p.Owner, p.PodSpec, c, false))));

    /// <summary>The data keys of a ConfigMap or Secret (data and stringData).</summary>
    public static IReadOnlyDictionary<string, string> DataOf(K8sObject o)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var section in new[] { "data", "stringData" })
        {
            foreach (var (key, value) in o.Root.Map(section) ?? [])
            {
                result[key] = value as string ?? string.Empty;
            }
        }

        return result;
    }

    /// <summary>
    /// The environment a container gets: its env entries and every key of the ConfigMaps/Secrets it imports with
    /// envFrom (value null when it comes from a secretKeyRef/fieldRef).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> EnvironmentOf(K8sContainer container)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var source in container.Container.List("envFrom").Maps())
        {
            var configMap = source.Map("configMapRef").Str("name");
            var secret = source.Map("secretRef").Str("name");
            var referenced = configMap is not null
                ? K8s.SingleOrDefault(o => o.Kind == "ConfigMap" && o.Name == configMap)
                : K8s.SingleOrDefault(o => o.Kind == "Secret" && o.Name == secret);
            if (referenced is null)
            {
                continue;
            }

            foreach (var (key, value) in DataOf(referenced))
            {
                env[key] = value;
            }
        }

        foreach (var entry in container.Container.List("env").Maps())
        {
            env[entry.Str("name")!] = entry.Str("value");
        }

        return env;
    }

    /// <summary>The environment of a compose service (mapping or list form).</summary>
    public static IReadOnlyDictionary<string, string?> EnvironmentOf(Dictionary<string, object?> service)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (service.Map("environment") is { } map)
        {
            foreach (var (key, value) in map)
            {
                env[key] = value as string;
            }
        }

        foreach (var item in service.List("environment").OfType<string>())
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            env[eq < 0 ? item : item[..eq]] = eq < 0 ? null : item[(eq + 1)..];
        }

        return env;
    }

    /// <summary>Compose's <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR:?error}</c> → value with defaults substituted (unset variables empty).</summary>
    public static string ResolveComposeDefaults(string value) =>
        System.Text.RegularExpressions.Regex.Replace(value, @"\$\{(\w+)(?::?-([^}]*)|:?\?[^}]*)?\}", m => m.Groups[2].Success ? m.Groups[2].Value : string.Empty);
}
