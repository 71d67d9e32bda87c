using Cluster.Testing;

namespace Cluster.Deploy.Tests;

/// <summary>Files of this repository the tests check: the Dockerfile and the Kubernetes manifests.</summary>
internal static class Repository
{
    public static string Root => ExternalTool.RepositoryRoot;

    public static string K8s => Path.Combine(Root, "k8s");

    public static string Overlay(string name) => Path.Combine(K8s, "overlays", name);

    public static string Component(string name) => Path.Combine(K8s, "components", name);

    public static string Dockerfile => Path.Combine(Root, "deploy", "Dockerfile");

    public static string DockerIgnore => Path.Combine(Root, ".dockerignore");

    public static string OperationsDoc => Path.Combine(Root, "docs", "operations.md");
}
