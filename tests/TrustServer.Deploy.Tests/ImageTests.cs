using System.Text.RegularExpressions;
using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>Every image is a pinned public base image or built from a Dockerfile in the repository.</summary>
public sealed partial class ImageTests
{
    public static TheoryData<string> Dockerfiles() =>
        new(Directory.GetFiles(Repo.PathOf("deploy/docker"), "*.Dockerfile").Select(f => "deploy/docker/" + Path.GetFileName(f)).Order(StringComparer.Ordinal));

    /// <summary>Image repositories that compose builds from a Dockerfile of this repository.</summary>
    private static HashSet<string> BuiltImages() =>
        Manifests.ComposeServices.Where(s => s.Service.ContainsKey("build") && s.Service.Str("image") is not null)
            .Select(s => Manifests.ImageRepository(s.Service.Str("image")!)).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Compose_EveryBuildUsesADockerfileOfTheRepo_AndEveryOtherImageIsPinned()
    {
        foreach (var (name, service) in Manifests.ComposeServices)
        {
            if (service.Map("build") is { } build)
            {
                Assert.Equal(".", build.Str("context"));
                var dockerfile = build.Str("dockerfile");
                Assert.True(dockerfile is not null && Repo.Exists(dockerfile), $"compose service {name}: Dockerfile {dockerfile} not in the repository");
                Assert.NotNull(service.Str("image"));
            }
            else
            {
                var image = service.Str("image");
                Assert.True(image is not null && Manifests.IsPinned(image), $"compose service {name}: image {image} is neither built here nor pinned to a version");
            }
        }
    }

    [Fact]
    public void Compose_OurHostsRunTheImagesOfTheirDockerfiles()
    {
        foreach (var (name, service) in Manifests.ComposeServices)
        {
            var host = Manifests.HostOfImage(service.Str("image") ?? string.Empty);
            if (host is not null)
            {
                var expected = host == Host.Server ? "deploy/docker/server.Dockerfile" : "deploy/docker/signer.Dockerfile";
                Assert.Equal(expected, service.Map("build").Str("dockerfile"));
            }
        }
    }

    [Fact]
    public void K8s_EveryImageIsBuiltByComposeFromTheRepo_OrPinned()
    {
        var built = BuiltImages();
        Assert.Contains(Manifests.ServerImage, built);
        Assert.Contains(Manifests.SignerImage, built);
        foreach (var container in Manifests.Containers)
        {
            Assert.True(built.Contains(Manifests.ImageRepository(container.Image)) || Manifests.IsPinned(container.Image), $"{container}: image {container.Image}");
            Assert.True(Manifests.ImageTag(container.Image) is { } tag && tag != "latest", $"{container}: image {container.Image} has no release tag");
        }

        var kustomization = Yaml.Load("deploy/k8s/kustomization.yaml");
        var used = Manifests.Containers.Select(c => Manifests.ImageRepository(c.Image)).ToHashSet(StringComparer.Ordinal);
        foreach (var image in kustomization.List("images").Maps())
        {
            Assert.Contains(image.Str("name")!, used);
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_EveryBaseImageIsPinnedOrAnEarlierStage(string dockerfile)
    {
        var stages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var froms = FromLine().Matches(Repo.Read(dockerfile));
        Assert.NotEmpty(froms);
        foreach (Match from in froms)
        {
            var image = from.Groups["image"].Value;
            Assert.True(stages.Contains(image) || Manifests.IsPinned(image), $"{dockerfile}: FROM {image} is not pinned");
            if (from.Groups["stage"].Success)
            {
                stages.Add(from.Groups["stage"].Value);
            }
        }
    }

    [Theory]
    [InlineData("deploy/docker/server.Dockerfile", "src/TrustServer.Server/TrustServer.Server.csproj", "TrustServer.Server.dll")]
    [InlineData("deploy/docker/signer.Dockerfile", "src/TrustServer.Signer/TrustServer.Signer.csproj", "TrustServer.Signer.dll")]
    public void HostDockerfile_IsMultiStage_PublishesTheProject_OnTheAspNetRuntime(string dockerfile, string project, string assembly)
    {
        var text = Repo.Read(dockerfile);
        var froms = FromLine().Matches(text).Select(m => m.Groups["image"].Value).ToList();
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", froms[0], StringComparison.Ordinal);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", froms[^1]);
        Assert.Contains($"dotnet publish {project}", text, StringComparison.Ordinal);
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{assembly}\"]", text, StringComparison.Ordinal);

        // The csproj's assembly name is the project file name (no AssemblyName override).
        if (Repo.Exists(project))
        {
            Assert.DoesNotContain("<AssemblyName>", Repo.Read(project), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("src/TrustServer.Signer/TrustServer.Signer.csproj", project); // the signer host is being written on another branch
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_CopiesOnlyExistingFilesThatTheDockerignoreLetsThrough(string dockerfile)
    {
        var ignore = Repo.Read(".dockerignore");
        foreach (Match copy in CopyLine().Matches(Repo.Read(dockerfile)))
        {
            var sources = copy.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
            foreach (var source in sources)
            {
                if (source.StartsWith("src/TrustServer.Signer/", StringComparison.Ordinal) && !ConfigKeys.SignerSourcePresent)
                {
                    continue;
                }

                Assert.True(Repo.Exists(source), $"{dockerfile}: COPY {source}: not in the repository");
                var topLevel = source.TrimEnd('/').Split('/')[0];
                var excluded = ignore.Split('\n').Select(l => l.Trim()).Any(l => l == topLevel || l == topLevel + "/" || l == topLevel + "/*");
                var reincluded = ignore.Contains("!" + source, StringComparison.Ordinal);
                Assert.False(excluded && !reincluded, $"{dockerfile}: COPY {source} is excluded by .dockerignore");
            }
        }
    }

    [GeneratedRegex(@"^FROM\s+(?:--platform=\S+\s+)?(?<image>\S+)(?:\s+AS\s+(?<stage>\S+))?\s*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^COPY\s+(?!--from)(?<args>[^\r\n]+)$", RegexOptions.Multiline)]
    private static partial Regex CopyLine();
}
