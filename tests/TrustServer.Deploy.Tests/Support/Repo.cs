namespace TrustServer.Deploy.Tests.Support;

/// <summary>Paths in the repository under test (found by walking up to <c>TrustServer.sln</c>).</summary>
internal static class Repo
{
    /// <summary>Overrides the repository root (e.g. to check another checkout with the same test build).</summary>
    public const string RootVariable = "TRUSTSERVER_REPO_ROOT";

    private static readonly Lazy<string> RootPath = new(() =>
    {
        if (Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrustServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("TrustServer.sln not found above " + AppContext.BaseDirectory);
    });

    public static string Root => RootPath.Value;

    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    public static bool Exists(string relative) => File.Exists(PathOf(relative)) || Directory.Exists(PathOf(relative));

    public static string ComposeFile => "docker-compose.yml";

    public static string K8sDir => "deploy/k8s";

    /// <summary>Every Kubernetes manifest (kustomization.yaml excluded), relative paths.</summary>
    public static IReadOnlyList<string> K8sManifests =>
        Directory.GetFiles(PathOf(K8sDir), "*.yaml").Select(f => K8sDir + "/" + Path.GetFileName(f))
            .Where(f => !f.EndsWith("/kustomization.yaml", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Every shell script under deploy/ and scripts/, relative paths.</summary>
    public static IReadOnlyList<string> ShellScripts =>
        new[] { "deploy", "scripts" }.Where(Exists)
            .SelectMany(d => Directory.GetFiles(PathOf(d), "*.sh", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(Root, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal).ToList();
}
