using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using k8s;
using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>
/// deploy/Dockerfile read as instructions (no container engine here): official .NET images, restore in its own layer,
/// no SDK in the final image, the non-root app user, no HEALTHCHECK, and the ports the Deployment names.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly Lazy<Dockerfile> File = new(() => Dockerfile.Parse(System.IO.File.ReadAllText(Repository.Dockerfile)));

    [Fact]
    public void Stages_BuildOnSdkFinalOnAspNetRuntime()
    {
        var stages = File.Value.Stages;

        Assert.True(stages.Count >= 2, "multi-stage: build, then final");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", stages[0].Image, StringComparison.Ordinal);
        var final = stages[^1];
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", final.Image, StringComparison.Ordinal);
        Assert.DoesNotContain(final.Instructions, i => i.Arguments.Contains("/dotnet/sdk", StringComparison.Ordinal));
        Assert.All(final.Instructions.Where(i => i.Keyword == "COPY"), i => Assert.StartsWith($"--from={stages[0].Name} ", i.Arguments, StringComparison.Ordinal));
    }

    [Fact]
    public void Restore_OwnLayer_FromTheSilosProjectAndPropsFilesOnly()
    {
        var build = File.Value.Stages[0].Instructions;
        var restore = build.FindIndex(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore src/Cluster.Silo/Cluster.Silo.csproj", StringComparison.Ordinal));
        Assert.True(restore > 0, "no `RUN dotnet restore src/Cluster.Silo/Cluster.Silo.csproj`");

        var copiedBefore = build.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]).ToList();
        Assert.All(copiedBefore, source => Assert.Matches(@"(\.csproj|\.props|/packages\.lock\.json|^global\.json|^NuGet\.config|^\.editorconfig)$", source));
        Assert.Subset(copiedBefore.ToHashSet(), SiloProjectClosure());
        Assert.Contains("Directory.Packages.props", copiedBefore);
        Assert.Contains("Directory.Build.props", copiedBefore);
        // The restore takes the locked package graph, not whatever the feed serves that day.
        Assert.All(SiloProjectClosure(), project => Assert.Contains(Path.GetDirectoryName(project) + "/packages.lock.json", copiedBefore));

        var publish = build.Skip(restore + 1).Single(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("--no-restore", publish.Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public void User_FinalStage_TheImagesNonRootAppUser()
    {
        var user = File.Value.Stages[^1].Instructions.Last(i => i.Keyword == "USER");

        Assert.Equal("1654", user.Arguments);
    }

    [Fact]
    public void Healthcheck_None_KubernetesProbesInstead()
    {
        Assert.DoesNotContain(File.Value.Stages.SelectMany(s => s.Instructions), i => i.Keyword == "HEALTHCHECK");
    }

    [Fact]
    public void Entrypoint_RunsTheSiloOnThePortsTheDeploymentNames()
    {
        var final = File.Value.Stages[^1].Instructions;
        var deployment = KubernetesYaml.LoadAllFromString(System.IO.File.ReadAllText(Path.Combine(Repository.K8s, "base", "silo-deployment.yaml")), strict: true)
            .OfType<V1Deployment>().Single();
        var ports = deployment.Spec.Template.Spec.Containers[0].Ports;

        Assert.Equal("""["dotnet", "Cluster.Silo.dll"]""", final.Single(i => i.Keyword == "ENTRYPOINT").Arguments);
        var exposed = final.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).Order();
        Assert.Equal(ports.Select(p => p.ContainerPort).Order(), exposed);
        var urls = UrlsEnv().Match(string.Join('\n', final.Where(i => i.Keyword == "ENV").Select(i => i.Arguments)));
        Assert.True(urls.Success, "ENV Urls=http://+:PORT: the silo must listen on every interface in a container");
        Assert.Equal(ports.Single(p => p.Name == "http").ContainerPort, int.Parse(urls.Groups["port"].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void DockerIgnore_HostBuildOutput_NeverInTheContext()
    {
        var patterns = System.IO.File.ReadAllLines(Repository.DockerIgnore).Select(l => l.Trim()).ToHashSet();

        Assert.Contains("**/bin/", patterns);
        Assert.Contains("**/obj/", patterns);
    }

    /// <summary>The csproj files Cluster.Silo builds from: itself and its project references, transitively, relative to the root.</summary>
    private static HashSet<string> SiloProjectClosure()
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.Combine(Repository.Root, "src", "Cluster.Silo", "Cluster.Silo.csproj")]);
        while (pending.TryPop(out var project))
        {
            if (!found.Add(Path.GetRelativePath(Repository.Root, project).Replace('\\', '/')))
            {
                continue;
            }

            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value)));
            }
        }

        return found;
    }

    [GeneratedRegex(@"(^|\s)Urls=http://\+:(?<port>\d+)(\s|$)")]
    private static partial Regex UrlsEnv();

    /// <summary>A Dockerfile as stages of instructions: comments dropped, continuation lines joined, <c>ARG</c> defaults substituted in <c>FROM</c>.</summary>
    private sealed record Dockerfile(IReadOnlyList<Stage> Stages)
    {
        public static Dockerfile Parse(string text)
        {
            var lines = new List<string>();
            var current = "";
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd();
                if (line.TrimStart().StartsWith('#'))
                {
                    continue;
                }

                if (line.EndsWith('\\'))
                {
                    current += line[..^1] + " ";
                    continue;
                }

                current += line;
                if (current.Trim().Length > 0)
                {
                    lines.Add(current.Trim());
                }

                current = "";
            }

            var globalArgs = new Dictionary<string, string>(StringComparer.Ordinal);
            var stages = new List<Stage>();
            foreach (var line in lines)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var keyword = line[..space].ToUpperInvariant();
                var arguments = Regex.Replace(line[(space + 1)..].Trim(), @"\s+", " ");
                if (keyword == "FROM")
                {
                    var words = arguments.Split(' ').Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
                    var image = Regex.Replace(words[0], @"\$\{(?<name>\w+)\}|\$(?<name>\w+)", m => globalArgs.GetValueOrDefault(m.Groups["name"].Value, m.Value));
                    stages.Add(new Stage(image, words.Count == 3 ? words[2] : stages.Count.ToString(CultureInfo.InvariantCulture), []));
                }
                else if (stages.Count == 0 && keyword == "ARG" && arguments.Split('=', 2) is [var name, var value])
                {
                    globalArgs[name] = value;
                }
                else if (stages.Count > 0)
                {
                    stages[^1].Instructions.Add(new Instruction(keyword, arguments));
                }
            }

            return new Dockerfile(stages);
        }
    }

    private sealed record Stage(string Image, string Name, List<Instruction> Instructions);

    private sealed record Instruction(string Keyword, string Arguments);
}
